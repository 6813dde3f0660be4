"""Zipkin v2 bodies (JSON array, proto3 `zipkin.proto3.ListOfSpans`) → `ZipkinSpan`.

Decoding only checks and normalizes the wire form; `zipkin_translate` applies Jaeger's rules.
Like Jaeger's receiver (zipkin-go underneath), one malformed span fails the whole body: the
DecodeError names the span index and the field, and the HTTP layer answers 400.

Normalization shared by both forms, so equal spans come out equal whichever form was sent:
- ids become ints; short hex ids are left-padded, as zipkin-go and Zipkin's own server accept
  them; a zero trace or span id is an error; a zero parent id means "no parent";
- a timestamp or duration of 0 (proto3's default) is "absent" (None), as zipkin-go reads it;
- IPs become their canonical text (IPv4-mapped IPv6 prints as dotted quad, like Go's net.IP);
- empty strings in endpoints and port 0 are absent.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

import orjson

from pyjaeger.codecs.errors import DecodeError, parse_protobuf
from pyjaeger.codecs.zipkin_model import KINDS, Annotation, Endpoint, ZipkinSpan
from pyjaeger.gotext import json as go_json
from pyjaeger.idl.zipkin import zipkin_pb2
from pyjaeger.json_kind import json_kind
from pyjaeger.model import span_id_from_hex, trace_id_from_hex

__all__ = ["decode_v2_json", "decode_v2_proto"]

_KIND_SET = frozenset(KINDS)
_MAX_PORT = 0xFFFF


class _Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def decode_v2_json(data: bytes) -> list[ZipkinSpan]:
    """Decode a Zipkin v2 JSON body: an array of span objects. Unknown fields are ignored."""
    try:
        doc = go_json.loads(data)
    except ValueError as e:
        raise DecodeError(f"zipkin v2 JSON: invalid JSON: {e}") from None
    if not isinstance(doc, list):
        raise DecodeError(f"zipkin v2 JSON: expected an array of spans, got {json_kind(doc)}")
    out: list[ZipkinSpan] = []
    keep = out.append
    for i, obj in enumerate(doc):
        try:
            keep(_json_span(obj))
        except _Invalid as e:
            where = f"span[{i}].{e.field}" if e.field else f"span[{i}]"
            raise DecodeError(f"zipkin v2 JSON: {where}: {e.reason}") from None
    return out


def _hex_id(obj: dict[str, Any], key: str, trace: bool, required: bool) -> int | None:
    v = obj.get(key)
    if v is None or (v == "" and not required):
        if required:
            raise _Invalid(key, "required")
        return None
    if not isinstance(v, str):
        raise _Invalid(key, f"expected a hex string, got {json_kind(v)}")
    try:
        n = trace_id_from_hex(v) if trace else span_id_from_hex(v)
    except ValueError:
        raise _Invalid(key, f"{v!r} is not 1 to {32 if trace else 16} hex characters") from None
    if n == 0 and required:
        raise _Invalid(key, "must not be all zeros")
    return n or None


def _micros(obj: dict[str, Any], key: str) -> int | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Invalid(key, f"expected a number of microseconds, got {json_kind(v)}")
    if isinstance(v, float):
        if not v.is_integer():
            raise _Invalid(key, f"expected whole microseconds, got {v!r}")
        v = int(v)
    return v if v > 0 else None


def _string(obj: dict[str, Any], key: str, where: str = "") -> str | None:
    v = obj.get(key)
    if v is None or isinstance(v, str):
        return v
    raise _Invalid(where + key, f"expected a string, got {json_kind(v)}")


def _flag(obj: dict[str, Any], key: str) -> bool:
    v = obj.get(key)
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    raise _Invalid(key, f"expected a boolean, got {json_kind(v)}")


def _json_span(obj: object) -> ZipkinSpan:
    if not isinstance(obj, dict):
        raise _Invalid("", f"expected a span object, got {json_kind(obj)}")
    trace_id = _hex_id(obj, "traceId", True, True)
    span_id = _hex_id(obj, "id", False, True)
    assert trace_id is not None and span_id is not None  # required ids are never None
    kind = _string(obj, "kind")
    span = ZipkinSpan(
        trace_id,
        span_id,
        _hex_id(obj, "parentId", False, False),
        _string(obj, "name") or "",
        # Like the OTel receiver, an unknown kind is no kind rather than an error.
        kind if kind in _KIND_SET else None,
        _micros(obj, "timestamp"),
        _micros(obj, "duration"),
        _json_endpoint(obj, "localEndpoint"),
        _json_endpoint(obj, "remoteEndpoint"),
        debug=_flag(obj, "debug"),
        shared=_flag(obj, "shared"),
    )
    annotations = obj.get("annotations")
    if annotations is not None:
        span.annotations = _json_annotations(annotations)
    tags = obj.get("tags")
    if tags is not None:
        span.tags = _json_tags(tags)
    return span


def _json_endpoint(obj: dict[str, Any], key: str) -> Endpoint | None:
    ep = obj.get(key)
    if ep is None:
        return None
    if not isinstance(ep, dict):
        raise _Invalid(key, f"expected an object, got {json_kind(ep)}")
    where = key + "."
    port = ep.get("port")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= _MAX_PORT:
            raise _Invalid(where + "port", f"expected a port number 0..65535, got {port!r}")
    return Endpoint(
        _string(ep, "serviceName", where) or None,
        _json_ip(ep, "ipv4", where),
        _json_ip(ep, "ipv6", where),
        port or None,
    )


def _json_ip(ep: dict[str, Any], key: str, where: str) -> str | None:
    text = _string(ep, key, where)
    if not text:
        return None
    ip = _canonical_ip(text)
    if ip is None:
        raise _Invalid(where + key, f"{text!r} is not an IP address")
    return ip


@lru_cache(maxsize=1024)
def _canonical_ip(text: str) -> str | None:
    # Cached: a batch repeats the same few endpoints on every span.
    try:
        return _ip_text(ipaddress.ip_address(text))
    except ValueError:
        return None


def _ip_text(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _json_annotations(v: object) -> list[Annotation]:
    if not isinstance(v, list):
        raise _Invalid("annotations", f"expected an array, got {json_kind(v)}")
    out = []
    for i, a in enumerate(v):
        if not isinstance(a, dict):
            raise _Invalid(f"annotations[{i}]", f"expected an object, got {json_kind(a)}")
        try:
            ts = _micros(a, "timestamp")
            value = _string(a, "value")
        except _Invalid as e:
            raise _Invalid(f"annotations[{i}].{e.field}", e.reason) from None
        out.append(Annotation(ts or 0, value or ""))
    return out


def _json_tags(v: object) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _Invalid("tags", f"expected an object, got {json_kind(v)}")
    tags: dict[str, str] = {}
    for key, value in v.items():
        if isinstance(value, str):
            tags[key] = value
        elif isinstance(value, (bool, int, float)):
            # Zipkin's own server reads scalar tag values as their JSON text; accept them too.
            tags[key] = orjson.dumps(value).decode()
        elif value is not None:
            raise _Invalid(f"tags.{key}", f"expected a string, got {json_kind(value)}")
    return tags


def decode_v2_proto(data: bytes) -> list[ZipkinSpan]:
    """Decode a `zipkin.proto3.ListOfSpans` body."""
    msg = parse_protobuf(zipkin_pb2.ListOfSpans(), data, "zipkin proto3 ListOfSpans")
    out: list[ZipkinSpan] = []
    keep = out.append
    from_bytes = int.from_bytes
    for i, sp in enumerate(msg.spans):
        try:
            tid_b = sp.trace_id
            if len(tid_b) not in (8, 16):
                raise _Invalid("trace_id", f"must be 8 or 16 bytes, got {len(tid_b)}")
            trace_id = from_bytes(tid_b, "big")
            if not trace_id:
                raise _Invalid("trace_id", "must not be all zeros")
            sid_b = sp.id
            if len(sid_b) != 8:
                raise _Invalid("id", f"must be 8 bytes, got {len(sid_b)}")
            span_id = from_bytes(sid_b, "big")
            if not span_id:
                raise _Invalid("id", "must not be all zeros")
            pid_b = sp.parent_id
            if pid_b and len(pid_b) != 8:
                raise _Invalid("parent_id", f"must be empty or 8 bytes, got {len(pid_b)}")
            kind = sp.kind
            span = ZipkinSpan(
                trace_id,
                span_id,
                from_bytes(pid_b, "big") or None,
                sp.name,
                # proto3 enums are open: a number beyond CONSUMER is kept by protobuf; ignore it.
                KINDS[kind - 1] if 0 < kind <= len(KINDS) else None,
                sp.timestamp or None,
                sp.duration or None,
                _proto_endpoint(sp, "local_endpoint"),
                _proto_endpoint(sp, "remote_endpoint"),
                [Annotation(a.timestamp, a.value) for a in sp.annotations],
                dict(sp.tags),
                sp.debug,
                sp.shared,
            )
        except _Invalid as e:
            raise DecodeError(f"zipkin proto3 ListOfSpans: spans[{i}].{e.field}: {e.reason}") from None
        keep(span)
    return out


def _proto_endpoint(sp: Any, name: str) -> Endpoint | None:
    if not sp.HasField(name):
        return None
    ep = getattr(sp, name)
    return Endpoint(
        ep.service_name or None,
        _proto_ip(ep.ipv4, 4, name + ".ipv4"),
        _proto_ip(ep.ipv6, 16, name + ".ipv6"),
        # int32 on the wire; zipkin-go keeps it as a uint16, so out-of-range ports are dropped.
        ep.port if 0 < ep.port <= _MAX_PORT else None,
    )


def _proto_ip(raw: bytes, size: int, field: str) -> str | None:
    if not raw:
        return None
    if len(raw) != size:
        raise _Invalid(field, f"must be {size} bytes, got {len(raw)}")
    return _packed_ip(raw)


@lru_cache(maxsize=1024)
def _packed_ip(raw: bytes) -> str:
    return _ip_text(ipaddress.ip_address(raw))
