"""Zipkin v1 JSON (POST /api/v1/spans, application/json) → `ZipkinSpan`, by `zipkin_v1`'s rules.

Non-string binary annotation values (JSON booleans and numbers) are kept as string tags, as
Jaeger keeps them; an address annotation (`ca`, `sa`, `ma` set to true) gives an endpoint.
"""

from __future__ import annotations

from typing import Any

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.zipkin_model import Endpoint, ZipkinSpan
from pyjaeger.codecs.zipkin_v1 import ADDRESS_KEYS, V1Annotation, V1BinaryAnnotation, V1Span, convert_all
from pyjaeger.gotext import json as go_json
from pyjaeger.json_kind import json_kind
from pyjaeger.model import trace_id_from_hex

__all__ = ["decode_v1_json"]


def decode_v1_json(data: bytes) -> list[ZipkinSpan]:
    """A Zipkin v1 JSON array of spans (POST /api/v1/spans, application/json)."""
    try:
        doc = go_json.loads(data)
    except ValueError as e:
        raise DecodeError(f"Zipkin v1 JSON: not JSON: {e}") from None
    if not isinstance(doc, list):
        raise DecodeError(f"Zipkin v1 JSON: expected an array of spans, got {json_kind(doc)}")
    return convert_all([_json_span(obj, f"spans[{i}]") for i, obj in enumerate(doc)])


def _want(v: object, kind: type | tuple[type, ...], what: str, path: str) -> Any:
    if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
        raise DecodeError(f"Zipkin v1 JSON: {path}: expected {what}, got {json_kind(v)}")
    return v


def _json_int(v: object, path: str) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return int(_want(v, int, "an integer", path))


def _json_hex(v: object, max_digits: int, path: str) -> int:
    s = _want(v, str, "a hex string", path)
    if not 0 < len(s) <= max_digits:
        raise DecodeError(f"Zipkin v1 JSON: {path}: {s[:40]!r} is not 1 to {max_digits} hex digits")
    try:
        return trace_id_from_hex(s)  # the length is checked above; this checks the digits
    except ValueError:
        raise DecodeError(f"Zipkin v1 JSON: {path}: {s[:40]!r} is not hexadecimal") from None


def _or_empty(v: object) -> object:
    return [] if v is None else v


def _json_span(obj: object, path: str) -> V1Span:
    o = _want(obj, dict, "a span object", path)
    if "traceId" not in o or "id" not in o:
        raise DecodeError(f"Zipkin v1 JSON: {path}: traceId and id are required")
    span = V1Span(_json_hex(o["traceId"], 32, f"{path}.traceId"), _json_hex(o["id"], 16, f"{path}.id"))
    if o.get("parentId") is not None:
        span.parent_id = _json_hex(o["parentId"], 16, f"{path}.parentId") or None
    if o.get("name") is not None:
        span.name = _want(o["name"], str, "a string", f"{path}.name")
    if o.get("timestamp") is not None:
        span.timestamp = _json_int(o["timestamp"], f"{path}.timestamp")
    if o.get("duration") is not None:
        span.duration = _json_int(o["duration"], f"{path}.duration")
    if o.get("debug") is not None:
        span.debug = _want(o["debug"], bool, "a boolean", f"{path}.debug")
    for i, a in enumerate(_want(_or_empty(o.get("annotations")), list, "an array", f"{path}.annotations")):
        p = f"{path}.annotations[{i}]"
        a = _want(a, dict, "an object", p)
        if a.get("timestamp") is None or a.get("value") is None:
            raise DecodeError(f"Zipkin v1 JSON: {p}: timestamp and value are required")
        span.annotations.append(
            V1Annotation(
                _json_int(a["timestamp"], f"{p}.timestamp"),
                _want(a["value"], str, "a string", f"{p}.value"),
                _json_endpoint(a.get("endpoint"), f"{p}.endpoint"),
            )
        )
    bins = _want(_or_empty(o.get("binaryAnnotations")), list, "an array", f"{path}.binaryAnnotations")
    for i, b in enumerate(bins):
        p = f"{path}.binaryAnnotations[{i}]"
        b = _want(b, dict, "an object", p)
        key = _want(b.get("key"), str, "a string", f"{p}.key")
        endpoint = _json_endpoint(b.get("endpoint"), f"{p}.endpoint")
        value = b.get("value")
        if isinstance(value, bool):
            if value and key in ADDRESS_KEYS:
                if endpoint is not None:
                    span.binary_annotations.append(V1BinaryAnnotation(key, None, endpoint))
                continue
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = value
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            text = repr(value)
        else:
            continue  # null, or an object or array Zipkin skips as well
        span.binary_annotations.append(V1BinaryAnnotation(key, text, endpoint))
    return span


def _json_endpoint(v: object, path: str) -> Endpoint | None:
    if v is None:
        return None
    o = _want(v, dict, "an endpoint object", path)

    def text(name: str) -> str | None:
        x = o.get(name)
        return _want(x, str, "a string", f"{path}.{name}") or None if x is not None else None

    port = o.get("port")
    return Endpoint(
        text("serviceName"),
        text("ipv4"),
        text("ipv6"),
        (_json_int(port, f"{path}.port") & 0xFFFF) or None if port is not None else None,
    )
