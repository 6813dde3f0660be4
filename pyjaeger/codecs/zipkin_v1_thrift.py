"""Zipkin v1 Thrift (`zipkincore.Span`) → `ZipkinSpan`, by `zipkin_v1`'s rules: a bare binary
`list<Span>` (POST /api/v1/spans, application/x-thrift) and the agent's `emitZipkinBatch` spans.

Non-string binary annotations (BOOL, BYTES, I16/I32/I64, DOUBLE: big-endian bytes of their type)
are kept as string tags, as Jaeger keeps them.
"""

from __future__ import annotations

import base64
import ipaddress
import struct
from typing import Any

from thrift.Thrift import TType

from pyjaeger.codecs import thrift_wire
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.zipkin_model import Endpoint, ZipkinSpan
from pyjaeger.codecs.zipkin_v1 import ADDRESS_KEYS, V1Annotation, V1BinaryAnnotation, V1Span, convert_all
from pyjaeger.idl.gen_thrift.agent import Agent as _agent_module

__all__ = ["decode_v1_thrift", "spans_from_thrift", "EMIT_ZIPKIN_BATCH", "ZIPKIN_BATCH_ARGS"]

_U64 = (1 << 64) - 1
EMIT_ZIPKIN_BATCH = "emitZipkinBatch"
ZIPKIN_BATCH_ARGS: Any = _agent_module.emitZipkinBatch_args  # the agent method's arguments struct


class _SpanList(ZIPKIN_BATCH_ARGS):  # type: ignore[misc]
    """emitZipkinBatch's arguments standing in for a bare list<Span>, under a name of its own."""

    __slots__ = ()


def decode_v1_thrift(data: bytes) -> list[ZipkinSpan]:
    """A binary-protocol `list<zipkincore.Span>`.

    The C extension decodes structs only, so the list is read as field 1 of a struct: three
    bytes of field header before it and a stop byte after make it emitZipkinBatch's arguments.
    """
    data = bytes(data)
    if not data:
        raise DecodeError("list<Span>: empty body")
    if data[0] != TType.STRUCT:
        raise DecodeError(f"list<Span>: list element type {data[0]} is not a struct (12)")
    wrapped = bytes((TType.LIST, 0, 1)) + data + b"\x00"
    structs = thrift_wire.decode_struct(_SpanList, wrapped, 0, False, "list<Span>").spans
    return spans_from_thrift(structs, "list<Span>")


def spans_from_thrift(structs: Any, path: str) -> list[ZipkinSpan]:
    """Decoded zipkincore Span structs → ZipkinSpans (for the HTTP list and emitZipkinBatch)."""
    return convert_all([_thrift_span(s, f"{path}[{i}]") for i, s in enumerate(structs or ())])


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
        if t == 0 and b.key in ADDRESS_KEYS and raw == b"\x01":
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
