"""The agent's UDP datagrams: one Thrift `Agent` message, `emitBatch` (Jaeger spans) or
`emitZipkinBatch` (Zipkin v1 spans), compact (0x82) or binary (0x80).

Message types CALL and ONEWAY are accepted. Non-strict binary (no version word: the name length
first, so a 0x00 first byte) is read too, as Go's agent does. Any other method is a DecodeError.
Bytes after the message are ignored. Zipkin spans are converted as the Zipkin receivers convert
them (`zipkin_v1_thrift`, then `zipkin_translate`).
"""

from __future__ import annotations

from pyjaeger.codecs import thrift_wire
from pyjaeger.codecs.jaeger_thrift import EMIT_BATCH, decode_emit_batch
from pyjaeger.codecs.zipkin_translate import zipkin_to_spans
from pyjaeger.codecs.zipkin_v1_thrift import EMIT_ZIPKIN_BATCH, ZIPKIN_BATCH_ARGS, spans_from_thrift
from pyjaeger.model import Span

__all__ = ["decode_agent_message", "decode_agent_datagram"]

_METHODS = (EMIT_BATCH, EMIT_ZIPKIN_BATCH)


def decode_agent_message(data: bytes) -> list[Span]:
    """The spans of one UDP datagram."""
    return decode_agent_datagram(data)[1]


def decode_agent_datagram(data: bytes) -> tuple[str, list[Span]]:
    """`decode_agent_message`, also saying which format the spans came in: "jaeger" or "zipkin"
    (the `format` label of the metrics)."""
    data = bytes(data)
    envelope = thrift_wire.read_envelope(data, _METHODS)
    if envelope.name == EMIT_BATCH:
        return "jaeger", decode_emit_batch(data, envelope)
    args = thrift_wire.decode_struct(
        ZIPKIN_BATCH_ARGS, data, envelope.offset, envelope.compact, EMIT_ZIPKIN_BATCH
    )
    return "zipkin", zipkin_to_spans(spans_from_thrift(args.spans, "emitZipkinBatch.spans"))
