"""Pure parsing of the api_v3 HTTP gateway's parameters (Jaeger v2.20's `apiv3/query_parser.go`
and `http_gateway.go`).

As in `params`, callers pass the query string's (key, value) pairs; a parameter takes its first
value and an empty value is absent. Each parameter has a canonical camelCase name and a
snake_case alias Jaeger still accepts; the canonical one wins when both are given, and an error
names the one that was read. Every failure is a `ParamError` with Jaeger's text
(`malformed parameter query.durationMin: time: invalid duration "x"`), Go's error wording
included.

- Times are RFC 3339 at any precision (Go's `time.Parse(time.RFC3339Nano, ...)`, which also
  takes a comma before the fraction and offsets up to ±24:60); the model keeps µs, so the
  inclusive search bounds become ceil(min) and floor(max), exact on stored µs times.
- Durations are Go durations (`10ms`, `1.5s`); 0 means unset, as in Jaeger.
- `query.searchDepth` (aliases `query.search_depth`, then `query.num_traces`) defaults to 100;
  like the v1 `limit`, 0 and negatives reach the store, which reads them as "no limit".
- `query.attributes` is a JSON object of strings, matched as the v1 `tags`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyjaeger.gotext import strconv
from pyjaeger.gotext.duration import parse_go_duration_ns
from pyjaeger.gotext.json import unmarshal_string_map
from pyjaeger.gotext.time import parse_rfc3339_nano
from pyjaeger.query.params import ParamError, Params, first, multi, parse_trace_id
from pyjaeger.storage.base import DEFAULT_NUM_TRACES, TraceQuery

__all__ = [
    "TraceLookup",
    "SearchParams",
    "parse_trace_lookup",
    "parse_trace_search",
    "parse_operations_query",
    "parse_v3_trace_id",
]

_TIME_MIN, _TIME_MAX = "query.startTimeMin", "query.startTimeMax"


@dataclass(slots=True)
class TraceLookup:
    """`GET /api/v3/traces/{trace_id}`: `start`/`end` (µs, None when absent) are lookup hints."""

    trace_id: int
    start: int | None
    end: int | None
    raw: bool


@dataclass(slots=True)
class SearchParams:
    """`GET /api/v3/traces` and `/api/v3/trace-summaries`."""

    query: TraceQuery
    raw: bool


def _param(m: Mapping[str, list[str]], canonical: str, alias: str) -> tuple[str, str]:
    """Jaeger's getQueryParam: (value, the name it was read under)."""
    value = first(m, canonical)
    if value != "":
        return value, canonical
    return first(m, alias), alias


def _malformed(name: str, e: Exception) -> ParamError:
    return ParamError(f"malformed parameter {name}: {e}")


def parse_v3_trace_id(s: str) -> int:
    """The gateway's trace id: hex as everywhere in Jaeger (1 to 32 digits), else, for ids of at
    most 24 characters, base64 of the 16 (or 8) id bytes in any of Go's four alphabets
    (standard or URL-safe, padded or not). The error is the hex one unless the base64 decoded to
    a wrong length."""
    try:
        return parse_trace_id(s)
    except ParamError as hex_error:
        if len(s.encode("utf-8", "surrogateescape")) > 24:
            raise _malformed("trace_id", hex_error) from None
        raw = _base64(s)
        if raw is None:
            raise _malformed("trace_id", hex_error) from None
        if len(raw) not in (8, 16):
            raise _malformed("trace_id", ValueError("invalid length for TraceID")) from None
        return int.from_bytes(raw, "big")


_B64_STD = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")
_B64_URL = re.compile(r"[A-Za-z0-9\-_]*={0,2}\Z")


def _base64(s: str) -> bytes | None:
    """The bytes of `s` under the first of Go's StdEncoding, URLEncoding, RawStdEncoding,
    RawURLEncoding that accepts it; None when none does."""
    for pattern, altchars in ((_B64_STD, None), (_B64_URL, b"-_")):
        # Padded: whole quads, padding only at the end.
        if pattern.match(s) and len(s) % 4 == 0:
            try:
                return base64.b64decode(s, altchars=altchars, validate=True)
            except binascii.Error:
                pass
    for pattern, altchars in ((_B64_STD, None), (_B64_URL, b"-_")):
        # Raw: no padding at all, and no dangling single character.
        if pattern.match(s) and "=" not in s and len(s) % 4 != 1:
            try:
                return base64.b64decode(s + "=" * (-len(s) % 4), altchars=altchars, validate=True)
            except binascii.Error:
                pass
    return None


def _time_ns(m: Mapping[str, list[str]], canonical: str, alias: str) -> int | None:
    value, name = _param(m, canonical, alias)
    if value == "":
        return None
    try:
        return parse_rfc3339_nano(value)
    except ValueError as e:
        raise _malformed(name, e) from None


def _bool(m: Mapping[str, list[str]], canonical: str, alias: str) -> bool:
    value, name = _param(m, canonical, alias)
    if value == "":
        return False
    try:
        return strconv.parse_bool(value)
    except ValueError as e:
        raise _malformed(name, e) from None


def parse_trace_lookup(trace_id: str, params: Params) -> TraceLookup:
    """The path's trace id, then `startTime`/`start_time`, `endTime`/`end_time` (RFC 3339) and
    `rawTraces`/`raw_traces`, checked in Jaeger's order."""
    tid = parse_v3_trace_id(trace_id)
    m = multi(params)
    start = _time_ns(m, "startTime", "start_time")
    end = _time_ns(m, "endTime", "end_time")
    raw = _bool(m, "rawTraces", "raw_traces")
    # Hints widen to whole µs, so a span at the edge stays inside.
    return TraceLookup(
        trace_id=tid,
        start=None if start is None else start // 1000,
        end=None if end is None else -(-end // 1000),
        raw=raw,
    )


def _duration_ns(m: Mapping[str, list[str]], canonical: str, alias: str) -> int:
    value, name = _param(m, canonical, alias)
    if value == "":
        return 0
    try:
        return parse_go_duration_ns(value)
    except ValueError as e:
        raise _malformed(name, e) from None


def parse_trace_search(params: Params) -> SearchParams:
    """`query.*` parameters, checked in Jaeger's order so the first error reported matches."""
    m = multi(params)
    service, _ = _param(m, "query.serviceName", "query.service_name")
    operation, _ = _param(m, "query.operationName", "query.operation_name")
    attributes: dict[str, str] = {}
    text = first(m, "query.attributes")
    if text != "":
        try:
            attributes = unmarshal_string_map(text)
        except ValueError as e:
            raise _malformed("query.attributes", e) from None

    min_text, _ = _param(m, _TIME_MIN, "query.start_time_min")
    max_text, _ = _param(m, _TIME_MAX, "query.start_time_max")
    if min_text == "" or max_text == "":
        raise ParamError(f"{_TIME_MIN} and {_TIME_MAX} are required")
    min_ns = _time_ns(m, _TIME_MIN, "query.start_time_min")
    max_ns = _time_ns(m, _TIME_MAX, "query.start_time_max")
    assert min_ns is not None and max_ns is not None
    if not min_ns < max_ns:
        raise ParamError(f"{_TIME_MIN} must be before {_TIME_MAX}")

    depth_text, depth_name = _param(m, "query.searchDepth", "query.search_depth")
    if depth_text == "":
        depth_text, depth_name = first(m, "query.num_traces"), "query.num_traces"
    depth = DEFAULT_NUM_TRACES
    if depth_text != "":
        try:
            depth = strconv.parse_int(depth_text, 64)
        except ValueError as e:
            # Go's strconv.Atoi: ParseInt's checks, under its own name.
            atoi_error = ValueError(str(e).replace("strconv.ParseInt", "strconv.Atoi", 1))
            raise _malformed(depth_name, atoi_error) from None

    min_dur = _duration_ns(m, "query.durationMin", "query.duration_min")
    max_dur = _duration_ns(m, "query.durationMax", "query.duration_max")
    raw = _bool(m, "query.rawTraces", "query.raw_traces")

    query = TraceQuery(
        service_name=service,
        operation_name=operation,
        tags=attributes,
        start_time_min=-(-min_ns // 1000),
        start_time_max=max_ns // 1000,
        duration_min=-(-min_dur // 1000) if min_dur else None,
        duration_max=max_dur // 1000 if max_dur else None,
        num_traces=depth,
    )
    return SearchParams(query=query, raw=raw)


def parse_operations_query(params: Params) -> tuple[str, str]:
    """`GET /api/v3/operations` → (service, span kind): `service` and `spanKind`/`span_kind`,
    neither checked (Jaeger's gateway passes them on; an unknown kind matches nothing)."""
    m = multi(params)
    kind, _ = _param(m, "spanKind", "span_kind")
    return first(m, "service"), kind
