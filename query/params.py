"""Pure parsing of the query API's query-string parameters (Jaeger's `query_parser.go`).

No clock and no request object: callers pass the (key, value) pairs of the query string
(`request.query_params.multi_items()`, so repeated keys keep every value) and "now". Every
failure is a `ParamError` whose message is the text Jaeger puts in `errors[0].msg` of its 400
answer, Go's strconv/time/encoding-json wording included, because the UI shows it verbatim.

As in Go's `r.FormValue`, a single-valued parameter takes its first occurrence and an empty value
means "absent" (the UI sends `&minDuration&maxDuration` with no value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyjaeger.gotext import strconv
from pyjaeger.gotext.duration import parse_go_duration_ns
from pyjaeger.gotext.json import unmarshal_string_map
from pyjaeger.storage.base import DEFAULT_NUM_TRACES, TraceQuery

__all__ = [
    "ParamError",
    "TraceSearch",
    "Params",
    "parse_search",
    "parse_trace_id",
    "parse_get_trace",
    "parse_dependencies",
    "parse_operations",
    "parse_bool",
    "pretty_print",
    "first",
    "multi",
    "DEFAULT_SEARCH_LOOKBACK_US",
    "DEFAULT_DEPENDENCIES_LOOKBACK_MS",
]

Params = Sequence[tuple[str, str]] | Mapping[str, list[str]]

DEFAULT_SEARCH_LOOKBACK_US = 48 * 3600 * 1_000_000  # defaultTraceQueryLookbackDuration
DEFAULT_DEPENDENCIES_LOOKBACK_MS = 24 * 3600 * 1_000  # defaultDependencyLookbackDuration

_ERR_SERVICE_REQUIRED = "parameter 'service' is required"
_ERR_MAX_LT_MIN = "'maxDuration' should be greater than 'minDuration'"


class ParamError(ValueError):
    """A bad parameter; `str(err)` is exactly the message Jaeger answers with (HTTP 400)."""


@dataclass(slots=True)
class TraceSearch:
    """`GET /api/traces`: either a search (`query`) or, when `trace_ids` is non-empty, a
    multi-get of those ids (the query's time window is then only a lookup hint)."""

    query: TraceQuery
    trace_ids: list[int]
    raw: bool


# --- Parameter access ------------------------------------------------------------------------


def multi(params: Params) -> Mapping[str, list[str]]:
    if isinstance(params, Mapping):
        # Tolerate a plain str→str mapping too: a value that is a str is one value, not chars.
        return {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}
    out: dict[str, list[str]] = {}
    for k, v in params:
        out.setdefault(k, []).append(v)
    return out


def first(m: Mapping[str, list[str]], name: str) -> str:
    """Go's FormValue: the first value, '' when absent."""
    values = m.get(name)
    return values[0] if values else ""


def _parse_time(m: Mapping[str, list[str]], name: str, default: int, unit_us: int) -> int:
    """Jaeger's parseTime: an int64 count of `unit_us` µs since epoch, `default` when empty."""
    value = first(m, name)
    if value == "":
        return default
    try:
        return strconv.parse_int(value, 64) * unit_us
    except ValueError as e:
        raise ParamError(f"unable to parse param '{name}': {e}") from None


def _parse_bool(m: Mapping[str, list[str]], name: str) -> bool:
    value = first(m, name)
    if value == "":
        return False
    try:
        return strconv.parse_bool(value)
    except ValueError as e:
        raise ParamError(f"unable to parse param '{name}': {e}") from None


def parse_bool(params: Params, name: str) -> bool:
    """Go's strconv.ParseBool on the first value ('' → False); ParamError on anything else."""
    return _parse_bool(multi(params), name)


def pretty_print(params: Params) -> bool:
    """`prettyPrint`: any value but '' and 'false' turns indentation on, as in Jaeger."""
    value = first(multi(params), "prettyPrint")
    return value != "" and value != "false"


# --- Trace ids -------------------------------------------------------------------------------


def parse_trace_id(s: str) -> int:
    """Jaeger's TraceIDFromString: 1..32 hex characters, a short id is the low 64 bits.

    The message is the bare Go error (the `/api/traces/{id}` route answers with it as is); the
    search route prefixes it with `cannot parse traceID param: `.
    """
    # Go measures and slices bytes; a split through a UTF-8 sequence shows as \xNN in the message.
    b = s.encode("utf-8", "surrogateescape")
    if len(b) > 32:
        raise ParamError(f"TraceID cannot be longer than 32 hex characters: {s}")
    try:
        if len(b) > 16:
            hi_len = len(b) - 16
            hi = b[:hi_len].decode("utf-8", "surrogateescape")
            lo = b[hi_len:].decode("utf-8", "surrogateescape")
            return (strconv.parse_hex_uint64(hi) << 64) | strconv.parse_hex_uint64(lo)
        return strconv.parse_hex_uint64(s)
    except ValueError as e:
        raise ParamError(str(e)) from None


# --- Tags ------------------------------------------------------------------------------------


def _parse_tags(m: Mapping[str, list[str]]) -> dict[str, str]:
    """`tag=k:v` pairs first, then `tags={json}` objects merged over them, as Jaeger does."""
    tags: dict[str, str] = {}
    for tag in m.get("tag", ()):
        key, sep, value = tag.partition(":")
        if not sep:
            raise ParamError(f"malformed 'tag' parameter, expecting key:value, received: {tag}")
        tags[key] = value
    for text in m.get("tags", ()):
        try:
            tags.update(unmarshal_string_map(text))
        except ValueError as e:
            raise ParamError(f"malformed 'tags' parameter, cannot unmarshal JSON: {e}") from None
    return tags


# --- Endpoints -------------------------------------------------------------------------------


def _parse_duration_ns(m: Mapping[str, list[str]], name: str) -> int:
    value = first(m, name)
    if value == "":
        return 0
    try:
        return parse_go_duration_ns(value)
    except ValueError as e:
        raise ParamError(f"unable to parse param '{name}': {e}") from None


def parse_search(params: Params, now_us: int) -> TraceSearch:
    """`GET /api/traces`. Checks run in Jaeger's order, so the first error reported matches.

    - `start`/`end`: µs since epoch, defaults now - 48h and now; `lookback` is ignored (the UI
      turns it into start/end itself).
    - `limit`: int32, default 100; 0 and negatives pass through (the store reads <= 0 as "no
      limit"). A bad value's message names the parameter, where Jaeger gives the bare strconv
      error.
    - `minDuration`/`maxDuration`: Go durations; 0 means unset as in Go. Go keeps nanoseconds,
      stored durations are whole µs, so the inclusive bounds become ceil(min) and floor(max).
    - `traceID` (repeatable): when present the search is replaced by fetching those ids, and
      `service` is no longer required.
    """
    m = multi(params)
    start = _parse_time(m, "start", now_us - DEFAULT_SEARCH_LOOKBACK_US, 1)
    end = _parse_time(m, "end", now_us, 1)
    tags = _parse_tags(m)

    limit = DEFAULT_NUM_TRACES
    limit_value = first(m, "limit")
    if limit_value != "":
        try:
            limit = strconv.parse_int(limit_value, 32)
        except ValueError as e:
            # Jaeger v1.76 returns this one bare ("strconv.ParseInt: parsing ..."), the only
            # parameter it forgets to name; we name it like every other.
            raise ParamError(f"unable to parse param 'limit': {e}") from None

    min_ns = _parse_duration_ns(m, "minDuration")
    max_ns = _parse_duration_ns(m, "maxDuration")

    trace_ids: list[int] = []
    for s in m.get("traceID", ()):
        try:
            trace_ids.append(parse_trace_id(s))
        except ParamError as e:
            raise ParamError(f"cannot parse traceID param: {e}") from None

    raw = _parse_bool(m, "raw")

    service = first(m, "service")
    if not trace_ids and service == "":
        raise ParamError(_ERR_SERVICE_REQUIRED)
    if min_ns != 0 and max_ns != 0 and max_ns < min_ns:
        raise ParamError(_ERR_MAX_LT_MIN)

    query = TraceQuery(
        service_name=service,
        operation_name=first(m, "operation"),
        tags=tags,
        start_time_min=start,
        start_time_max=end,
        duration_min=-(-min_ns // 1000) if min_ns else None,
        duration_max=max_ns // 1000 if max_ns else None,
        num_traces=limit,
    )
    return TraceSearch(query=query, trace_ids=trace_ids, raw=raw)


def parse_get_trace(params: Params) -> tuple[int | None, int | None, bool]:
    """`GET /api/traces/{id}` and `POST /api/archive/{id}`: optional `start`/`end` (µs, a lookup
    hint; None when absent) and `raw`, validated with the same messages as the search."""
    m = multi(params)
    start = _parse_time(m, "start", 0, 1) if first(m, "start") else None
    end = _parse_time(m, "end", 0, 1) if first(m, "end") else None
    return start, end, _parse_bool(m, "raw")


def parse_dependencies(params: Params, now_ms: int) -> tuple[int, int]:
    """`GET /api/dependencies` → (end_ts_us, lookback_us).

    `endTs` is ms since epoch (default now) and `lookback` an integer of ms (default 24h); both
    are int64 text, errors worded as Jaeger's. A negative lookback is passed on, as in Jaeger.
    """
    m = multi(params)
    end_us = _parse_time(m, "endTs", now_ms * 1000, 1000)
    lookback_value = first(m, "lookback")
    lookback_ms = DEFAULT_DEPENDENCIES_LOOKBACK_MS
    if lookback_value != "":
        try:
            lookback_ms = strconv.parse_int(lookback_value, 64)
        except ValueError as e:
            raise ParamError(f"unable to parse param 'lookback': {e}") from None
    return end_us, lookback_ms * 1000


def parse_operations(params: Params) -> tuple[str, str]:
    """`GET /api/operations` → (service, spanKind). Jaeger does not validate spanKind: an
    unknown kind simply matches nothing."""
    m = multi(params)
    service = first(m, "service")
    if service == "":
        raise ParamError(_ERR_SERVICE_REQUIRED)
    return service, first(m, "spanKind")
