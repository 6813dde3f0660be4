"""Zipkin v1 spans → `ZipkinSpan`, following Zipkin's own v1 converter (read by `zipkin_v1_json` and
`zipkin_v1_thrift`).

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

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyjaeger.codecs.zipkin_model import Annotation, Endpoint, ZipkinSpan

__all__ = ["V1Annotation", "V1BinaryAnnotation", "V1Span", "ADDRESS_KEYS", "convert_v1", "convert_all"]

ADDRESS_KEYS = frozenset({"ca", "sa", "ma"})  # binary annotations that carry an address


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


def convert_all(spans: Iterable[V1Span]) -> list[ZipkinSpan]:
    out: list[ZipkinSpan] = []
    for span in spans:
        out += convert_v1(span)
    return out
