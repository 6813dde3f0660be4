"""Zipkin's v2 span, the one shape every Zipkin format decodes into before it becomes a canonical span.

v2 JSON and proto3 map onto it field by field; v1 JSON and v1 thrift (zipkincore) are converted to it
the way Zipkin's own v1 converter does (kind and timing from cs/sr/ss/cr, endpoints from
annotations and binaryAnnotations). One translation to `pyjaeger.model` then follows Jaeger's rules,
so the four formats cannot disagree about the same span.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Annotation", "Endpoint", "KINDS", "ZipkinSpan"]

KINDS = ("CLIENT", "SERVER", "PRODUCER", "CONSUMER")


@dataclass(slots=True)
class Endpoint:
    service_name: str | None = None
    ipv4: str | None = None  # dotted quad
    ipv6: str | None = None  # textual form
    port: int | None = None


@dataclass(slots=True)
class Annotation:
    timestamp: int  # microseconds since the epoch
    value: str


@dataclass(slots=True)
class ZipkinSpan:
    trace_id: int  # 64 or 128 bits; `trace_id_high` is folded in
    id: int
    parent_id: int | None = None
    name: str = ""
    kind: str | None = None  # one of KINDS, or None
    timestamp: int | None = None  # microseconds since the epoch; None when the sender left it out
    duration: int | None = None  # microseconds; None when the sender left it out
    local_endpoint: Endpoint | None = None
    remote_endpoint: Endpoint | None = None
    annotations: list[Annotation] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    debug: bool = False
    shared: bool = False
