"""Zipkin v1 (JSON and zipkincore Thrift) → `ZipkinSpan`, following Zipkin's own v1 converter.

v1 spans carry no kind, no endpoints of their own and, from some clients, no timestamp: all of it
is inferred from "core" annotations. `cs`/`cr` make a CLIENT, `sr`/`ss` a SERVER, `ms` a PRODUCER,
`mr` a CONSUMER; the pair gives timestamp and duration unless the span states both. The endpoint
of those annotations becomes the local endpoint, the `ca`/`sa`/`ma` address annotations the
remote one, and other binary annotations become tags. One v1 span can hold two sides of an RPC
under one id (old clients shared it): it is split into a CLIENT and a SERVER span, the server one
marked `shared`, the way Zipkin splits it, so the query side can tell them apart.

Differences from Zipkin's readers, for Jaeger's sake: non-string binary annotations (thrift
BOOL/I16/I32/I64/DOUBLE/BYTES, JSON booleans and numbers) are kept as string tags, as Jaeger
keeps them, instead of being dropped; service names are not lower-cased.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.zipkin_model import Annotation, Endpoint, ZipkinSpan
from pyjaeger.json_kind import json_kind
from pyjaeger.model import trace_id_from_hex

__all__ = ["V1Annotation", "V1BinaryAnnotation", "V1Span", "convert_v1", "decode_v1_json", "decode_v1_thrift"]

_U64 = (1 << 64) - 1
_ADDRESS_KEYS = frozenset({"ca", "sa", "ma"})


@dataclass(slots=True)
class V1Annotation:
    timestamp: int
    value: str
    endpoint: Endpoint | None = None


@dataclass(slots=True)
class V1BinaryAnnotation:
    key: str
    value: str | None  # the tag value; None for an address annotation
    endpoint: Endpoint | None = None


@dataclass(slots=True)
class V1Span:
    """A v1 span as read off the wire, before kind and endpoints are inferred."""

    trace_id: int  # 128 bits when the sender gave the high half
    id: int
    parent_id: int | None = None
    name: str = ""
    timestamp: int = 0  # 0: absent, as in Zipkin
    duration: int = 0
    annotations: list[V1Annotation] = field(default_factory=list)
    binary_annotations: list[V1BinaryAnnotation] = field(default_factory=list)
    debug: bool = False


# --- conversion -----------------------------------------------------------------------------


def _same_service(a: Endpoint | None, b: Endpoint | None) -> bool:
    return (a.service_name if a else None) == (b.service_name if b else None)


class _Converter:
    """One v1 span's conversion: the first span plus any split off for other endpoints."""

    def __init__(self, src: V1Span) -> None:
        self.src = src
        self.first = self._new(None)
        self.spans: list[ZipkinSpan] = [self.first]

    def _new(self, e: Endpoint | None) -> ZipkinSpan:
        s = self.src
        return ZipkinSpan(s.trace_id, s.id, s.parent_id, s.name, local_endpoint=e, debug=s.debug)

    def fork(self, e: Endpoint | None) -> ZipkinSpan:
        span = self._new(e)
        self.spans.append(span)
        return span

    def for_endpoint(self, e: Endpoint | None) -> ZipkinSpan:
        """The span this endpoint's data belongs to: the first one without an endpoint, or the
        one of the same service, or a new one (the other side of a shared span)."""
        if e is None:
            return self.first
        for span in self.spans:
            if span.local_endpoint is None:
                span.local_endpoint = e
                return span
            if _same_service(span.local_endpoint, e):
                return span
        return self.fork(e)


def convert_v1(src: V1Span) -> list[ZipkinSpan]:
    """One v1 span → one ZipkinSpan, or two when it holds both sides of an RPC or of a message."""
    c = _Converter(src)
    core: dict[str, V1Annotation] = {}
    for a in src.annotations:
        span = c.for_endpoint(a.endpoint)
        # Core annotations need an endpoint (whose side they are); without one they are plain events.
        if a.endpoint is not None and a.value in ("cs", "sr", "ss", "cr", "ms", "mr", "ws", "wr"):
            core[a.value] = a
            kind = _CORE_KINDS.get(a.value)
            if kind is not None:
                span.kind = kind
        else:
            span.annotations.append(Annotation(a.timestamp, a.value))
    cs, sr, ss, cr = core.get("cs"), core.get("sr"), core.get("ss"), core.get("cr")
    ms, mr, ws, wr = core.get("ms"), core.get("mr"), core.get("ws"), core.get("wr")

    # A span whose stated timestamp+duration ends exactly at cr/ss lost its start annotation
    # (event → span bridging): the stated timestamp stands in for it.
    if cs is None and cr is not None and _end_matches(cr, src):
        cs = V1Annotation(src.timestamp, "cs", cr.endpoint)
    if sr is None and ss is not None and _end_matches(ss, src):
        sr = V1Annotation(src.timestamp, "sr", ss.endpoint)

    if cs is not None and sr is not None:
        # Shared span: the client side owns the stated timing, the server side gets sr..ss.
        _timestamp_duration(c, cs, cr)
        client = c.for_endpoint(cs.endpoint)
        if _same_service(cs.endpoint, sr.endpoint):
            client.kind = "CLIENT"  # loopback: both sides in one service still make two spans
            server = c.fork(sr.endpoint)
            server.kind = "SERVER"
        else:
            server = c.for_endpoint(sr.endpoint)
        server.shared = True
        server.timestamp = sr.timestamp
        if ss is not None:
            server.duration = ss.timestamp - sr.timestamp
        if cr is None and src.duration == 0:
            client.duration = None  # a one-way RPC has no client duration
    elif cs is not None and cr is not None:
        _timestamp_duration(c, cs, cr)
    elif sr is not None and ss is not None:
        _timestamp_duration(c, sr, ss)
    else:
        # An incomplete RPC: a lone start gives the timestamp, a lone end stays an annotation.
        for span in c.spans:
            if span.kind == "CLIENT":
                if cs is not None:
                    span.timestamp = cs.timestamp
                if cr is not None:
                    span.annotations.append(Annotation(cr.timestamp, cr.value))
            elif span.kind == "SERVER":
                if sr is not None:
                    span.timestamp = sr.timestamp
                if ss is not None:
                    span.annotations.append(Annotation(ss.timestamp, ss.value))
        if src.timestamp:
            c.first.timestamp, c.first.duration = src.timestamp, src.duration

    # v1 had no shared flag: by convention a server side without a stated timestamp (or with ss
    # but no stated duration) was the server half of a span the client reported.
    if cs is None and sr is not None and (src.timestamp == 0 or (ss is not None and src.duration == 0)):
        c.for_endpoint(sr.endpoint).shared = True

    if ms is not None and mr is not None:
        producer = c.for_endpoint(ms.endpoint)
        if _same_service(ms.endpoint, mr.endpoint):
            producer.kind = "PRODUCER"
            consumer = c.fork(mr.endpoint)
            consumer.kind = "CONSUMER"
        else:
            consumer = c.for_endpoint(mr.endpoint)
        consumer.shared = True
        if wr is not None:
            consumer.timestamp, consumer.duration = wr.timestamp, mr.timestamp - wr.timestamp
        else:
            consumer.timestamp = mr.timestamp
        producer.timestamp = ms.timestamp
        producer.duration = ws.timestamp - ms.timestamp if ws is not None else None
    elif ms is not None:
        _timestamp_duration(c, ms, ws)
    elif mr is not None:
        if wr is not None:
            _timestamp_duration(c, wr, mr)
        else:
            _timestamp_duration(c, mr, None)
    else:
        for wire in (ws, wr):
            if wire is not None:
                c.for_endpoint(wire.endpoint).annotations.append(Annotation(wire.timestamp, wire.value))

    _binary_annotations(c, cs, sr, ss, cr, ms, mr)
    for span in c.spans:
        _finish(span)
    return c.spans


_CORE_KINDS = {"cs": "CLIENT", "cr": "CLIENT", "sr": "SERVER", "ss": "SERVER", "ms": "PRODUCER",
               "mr": "CONSUMER"}  # fmt: skip


def _end_matches(end: V1Annotation, src: V1Span) -> bool:
    return bool(src.timestamp and src.duration and src.timestamp + src.duration == end.timestamp)


def _timestamp_duration(c: _Converter, begin: V1Annotation, end: V1Annotation | None) -> None:
    span = c.for_endpoint(begin.endpoint)
    src = c.src
    if src.timestamp and src.duration:  # stated timing wins over the annotations
        span.timestamp, span.duration = src.timestamp, src.duration
    else:
        span.timestamp = begin.timestamp
        if end is not None:
            span.duration = end.timestamp - begin.timestamp


def _binary_annotations(
    c: _Converter,
    cs: V1Annotation | None,
    sr: V1Annotation | None,
    ss: V1Annotation | None,
    cr: V1Annotation | None,
    ms: V1Annotation | None,
    mr: V1Annotation | None,
) -> None:
    addresses: dict[str, Endpoint | None] = {}
    for b in c.src.binary_annotations:
        if b.value is None:
            addresses[b.key] = b.endpoint
            continue
        span = c.for_endpoint(b.endpoint)
        if b.key == "lc" and not b.value:
            continue  # an empty "lc" only marks a local span; its endpoint was taken above
        span.tags[b.key] = b.value
    ca, sa, ma = addresses.get("ca"), addresses.get("sa"), addresses.get("ma")

    if cs is None and cr is None and ss is None and sr is None and (ca is not None or sa is not None):
        if ca is not None and sa is not None:
            c.for_endpoint(ca).remote_endpoint = sa
        elif sa is not None:
            c.for_endpoint(None).remote_endpoint = sa  # "sa" alone does not make it a client
        else:
            span = c.for_endpoint(None)
            span.kind, span.remote_endpoint = "SERVER", ca
        return

    server = sr if sr is not None else ss
    if ca is not None and server is not None and ca != server.endpoint:
        # Finagle's "ca" repeats the server's own service name with the client's socket: without
        # the name it does not read as a call from the service to itself.
        if _same_service(ca, server.endpoint):
            ca = dataclasses.replace(ca, service_name=None)
        c.for_endpoint(server.endpoint).remote_endpoint = ca
    if sa is not None:
        client = cs if cs is not None else cr
        if client is not None:
            c.for_endpoint(client.endpoint).remote_endpoint = sa
    if ma is not None:
        # Both sides of a (mistakenly) shared messaging span get the broker.
        for side in (ms, mr):
            if side is not None:
                c.for_endpoint(side.endpoint).remote_endpoint = ma


def _finish(span: ZipkinSpan) -> None:
    # Zipkin's builder reads 0 as absent and keeps annotations sorted and without duplicates.
    if not span.timestamp:
        span.timestamp = None
    if not span.duration:
        span.duration = None
    if len(span.annotations) > 1:
        unique = {(a.timestamp, a.value): a for a in span.annotations}
        span.annotations = [unique[k] for k in sorted(unique)]


# --- v1 JSON --------------------------------------------------------------------------------


def decode_v1_json(data: bytes) -> list[ZipkinSpan]:
    """A Zipkin v1 JSON array of spans (POST /api/v1/spans, application/json)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise DecodeError(f"Zipkin v1 JSON: not JSON: {e}") from None
    if not isinstance(doc, list):
        raise DecodeError(f"Zipkin v1 JSON: expected an array of spans, got {json_kind(doc)}")
    out: list[ZipkinSpan] = []
    for i, obj in enumerate(doc):
        out += convert_v1(_json_span(obj, f"spans[{i}]"))
    return out


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
            if value and key in _ADDRESS_KEYS:
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


# --- v1 Thrift ------------------------------------------------------------------------------


def decode_v1_thrift(data: bytes) -> list[ZipkinSpan]:
    """A binary-protocol `list<zipkincore.Span>` (POST /api/v1/spans, application/x-thrift)."""
    from pyjaeger.codecs.jaeger_thrift import decode_zipkin_span_list

    return spans_from_thrift(decode_zipkin_span_list(bytes(data)), "list<Span>")


def spans_from_thrift(structs: Any, path: str) -> list[ZipkinSpan]:
    """Decoded zipkincore Span structs → ZipkinSpans (for the HTTP list and emitZipkinBatch)."""
    out: list[ZipkinSpan] = []
    for i, s in enumerate(structs or ()):
        out += convert_v1(_thrift_span(s, f"{path}[{i}]"))
    return out


def _thrift_span(s: Any, path: str) -> V1Span:
    if s.trace_id is None or s.id is None:
        raise DecodeError(f"{path}: trace_id and id are required")
    span = V1Span(((s.trace_id_high or 0) & _U64) << 64 | (s.trace_id & _U64), s.id & _U64)
    span.parent_id = (s.parent_id & _U64) or None if s.parent_id is not None else None
    span.name = s.name or ""
    span.timestamp = s.timestamp or 0
    span.duration = s.duration or 0
    span.debug = bool(s.debug)
    for a in s.annotations or ():
        # Zipkin drops an annotation without a time or a value rather than the span.
        if a.timestamp and a.value is not None:
            span.annotations.append(V1Annotation(a.timestamp, a.value, _thrift_endpoint(a.host)))
    for b in s.binary_annotations or ():
        if b.key is None or b.value is None:
            continue
        endpoint = _thrift_endpoint(b.host)
        t, raw = b.annotation_type, b.value
        if t == 0 and b.key in _ADDRESS_KEYS and raw == b"\x01":
            if endpoint is not None:
                span.binary_annotations.append(V1BinaryAnnotation(b.key, None, endpoint))
            continue
        text = _thrift_value(t, raw, f"{path}.binary_annotations[{b.key!r}]")
        if text is not None:
            span.binary_annotations.append(V1BinaryAnnotation(b.key, text, endpoint))
    return span


_INT_SIZES = {2: 2, 3: 4, 4: 8}  # AnnotationType I16, I32, I64 → bytes
_DOUBLE = struct.Struct(">d")


def _thrift_value(t: int | None, raw: bytes, path: str) -> str | None:
    """The tag text of a binary annotation value (big-endian bytes of its type)."""
    if t == 6:  # STRING
        return raw.decode("utf-8", "replace")
    if t == 0:  # BOOL: one byte
        return "true" if raw not in (b"", b"\x00") else "false"
    if t == 1:  # BYTES
        return base64.b64encode(raw).decode("ascii")
    if t in _INT_SIZES:
        if len(raw) != _INT_SIZES[t]:
            raise DecodeError(f"{path}: {len(raw)} bytes for an I{_INT_SIZES[t] * 8} value")
        return str(int.from_bytes(raw, "big", signed=True))
    if t == 5:  # DOUBLE
        if len(raw) != 8:
            raise DecodeError(f"{path}: {len(raw)} bytes for a DOUBLE value")
        return repr(_DOUBLE.unpack(raw)[0])
    return None  # an unknown or missing type: Zipkin drops the annotation


def _thrift_endpoint(h: Any) -> Endpoint | None:
    if h is None:
        return None
    ipv4 = str(ipaddress.IPv4Address(h.ipv4 & 0xFFFFFFFF)) if h.ipv4 else None
    ipv6 = None
    if h.ipv6 is not None and len(h.ipv6) == 16:
        addr = ipaddress.IPv6Address(h.ipv6)
        if addr.ipv4_mapped is not None:  # Zipkin reads a mapped address as the IPv4 one
            ipv4 = ipv4 or str(addr.ipv4_mapped)
        else:
            ipv6 = addr.compressed
    return Endpoint(h.service_name or None, ipv4, ipv6, (h.port & 0xFFFF) or None if h.port else None)
