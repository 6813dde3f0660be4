"""Spans the memory store takes straight from their wire bytes (storage/memory/wire.py: OTLP, a
Jaeger Thrift Batch, an agent datagram) read back as the codec decodes them: every read of the
store answers the same as for the spans written decoded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pyjaeger.codecs import jaeger_thrift, thrift_wire
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.jaeger_thrift import decode_batch, encode_agent_message, encode_batch
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.model import Trace
from pyjaeger.storage.base import TraceQuery
from pyjaeger.storage.memory import MemoryStore
from pyjaeger.storage.memory.packed import BLOB
from pyjaeger.storage.memory.wire import WIRE_THRIFT, WIRE_THRIFT_COMPACT, wire_spans

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
BENCH = Path(__file__).resolve().parents[2] / "bench"


def payloads() -> list[tuple[str, bytes]]:
    sys.path.insert(0, str(BENCH))
    try:
        from codec_otlp import make_batch
        from codec_thrift import make_batch as make_thrift_batch

        from pyjaeger.codecs.otlp_encode import encode_export_request

        rich = encode_export_request(make_batch())
        thrift = make_thrift_batch(20)
    finally:
        sys.path.remove(str(BENCH))
    return [
        *(("otlp-proto", p.read_bytes()) for p in sorted(CAPTURES.glob("otel-otlp-*.bin"))),
        ("otlp-proto", rich),
        ("thrift-batch", (CAPTURES / "otel-jaeger-thrift-collector_http14268_binary-batch.bin").read_bytes()),
        ("thrift-batch", encode_batch(thrift)),
        ("thrift-agent", (CAPTURES / "py-jaeger-client-4.8.0_udp6831_compact.bin").read_bytes()),
        ("thrift-agent", (CAPTURES / "node-jaeger-client-3.19.0_udp6832_binary.bin").read_bytes()),
        ("thrift-agent", encode_agent_message(thrift, "compact")),
    ]


CODECS = {
    "otlp-proto": lambda data: decode_export_request(data).spans,
    "thrift-batch": decode_batch,
    "thrift-agent": decode_agent_message,
}


def _key(t: Trace | None) -> object:
    return None if t is None else sorted((s.span_id, repr(s)) for s in t.spans)


@pytest.mark.parametrize(
    ("wire_format", "data"), payloads(), ids=lambda d: d if isinstance(d, str) else f"{len(d)}B"
)
async def test_wire_records_read_back_as_decoded_spans(wire_format: str, data: bytes) -> None:
    decoded, wire = MemoryStore(), MemoryStore()
    spans = CODECS[wire_format](data)
    await decoded.write_spans(spans)
    decoder = wire.stored_decoder(wire_format)
    assert decoder is not None
    batch = decoder(data)
    assert batch is not None and (len(batch), batch.rejected) == (len(spans), 0)
    await wire.write_stored(batch)

    assert await wire.get_services() == await decoded.get_services()
    for service in await decoded.get_services():
        assert set(await wire.get_operations(service)) == set(await decoded.get_operations(service))
        query = TraceQuery(service_name=service, num_traces=0)
        assert await wire.find_trace_ids(query) == await decoded.find_trace_ids(query)
    for span in spans:
        assert _key(await wire.get_trace(span.trace_id)) == _key(await decoded.get_trace(span.trace_id))
    # Searches read tags from the stored bytes where they can (a key not in a span's bytes, an
    # OTLP attribute read alone): every span tag, process tag and log field, the tags decoding
    # makes up, a value no span has and a key none has find what the decoded spans find.
    tags = {(kv.key, kv.as_string()) for s in spans for kv in [*s.tags, *s.process.tags]}
    tags |= {(f.key, f.as_string()) for s in spans for log in s.logs for f in log.fields}
    tags |= {(key, "no such value") for key, _ in list(tags)} | {("no.such.key", "x")}
    for key, value in sorted(tags):
        for service in await decoded.get_services():
            query = TraceQuery(service_name=service, tags={key: value}, num_traces=0)
            assert await wire.find_trace_ids(query) == await decoded.find_trace_ids(query), (key, value)
    deps = (await wire.get_dependencies(1 << 62, 1 << 62), await decoded.get_dependencies(1 << 62, 1 << 62))
    assert deps[0] == deps[1]
    counted = sum(batch.spans.values())
    assert counted == len(batch)


def test_wire_decoder_refuses_what_the_codec_refuses() -> None:
    store = MemoryStore()
    for wire_format in ("otlp-proto", "thrift-batch"):
        decoder = store.stored_decoder(wire_format)
        assert decoder is not None
        with pytest.raises(DecodeError):
            decoder(b"\xff\xff\xff")
    assert store.stored_decoder("zipkin-json") is None


def test_thrift_decoder_declines_what_it_leaves_to_the_codec() -> None:
    """A missing required field, a time past the year 9999, emitZipkinBatch: None, and the
    receiver takes the codec's path, which words the error or screens the spans."""
    store = MemoryStore()
    agent, batch_decoder = store.stored_decoder("thrift-agent"), store.stored_decoder("thrift-batch")
    assert agent is not None and batch_decoder is not None
    zipkin = (CAPTURES / "py_zipkin-0.20.2_v1_thrift-list.bin").read_bytes()
    assert agent(b"\x82\x81\x00\x0femitZipkinBatch" + zipkin) is None
    sys.path.insert(0, str(BENCH))
    try:
        from codec_thrift import make_batch as make_thrift_batch
    finally:
        sys.path.remove(str(BENCH))
    spans = make_thrift_batch(3)
    spans[1].start_time = 1 << 62
    assert batch_decoder(encode_batch(spans)) is None
    j = jaeger_thrift._J
    no_name = j.Span(1, 0, 2, 0, None, None, 1, 10, 5, None, None)  # operationName is required
    missing = thrift_wire.encode_struct(j.Batch(j.Process("svc", None), [no_name]), False)
    with pytest.raises(DecodeError, match="operationName"):
        decode_batch(missing)  # the codec's own word for it
    assert batch_decoder(missing) is None
    assert batch_decoder(encode_batch(make_thrift_batch(2))) is not None


def _thrift_spans(n: int) -> list:  # type: ignore[type-arg]
    sys.path.insert(0, str(BENCH))
    try:
        from codec_thrift import make_batch as make_thrift_batch
    finally:
        sys.path.remove(str(BENCH))
    return make_thrift_batch(n)  # type: ignore[no-any-return]


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_thrift_spans_keep_the_bytes_they_came_in(protocol: str) -> None:
    """Each span of a datagram or batch is stored as its own slice of the request, in the
    protocol it came in: nothing is encoded again."""
    store = MemoryStore()
    agent, batch_decoder = store.stored_decoder("thrift-agent"), store.stored_decoder("thrift-batch")
    assert agent is not None and batch_decoder is not None
    spans = _thrift_spans(4)
    cases = [(agent, encode_agent_message(spans, protocol), protocol == "compact")]
    if protocol == "binary":
        cases.append((batch_decoder, encode_batch(spans), False))
    for decode, data, compact in cases:
        batch = decode(data)
        assert batch is not None and len(batch) == 4
        for record, span in zip(batch.records, spans, strict=True):
            blob = record[BLOB]
            assert blob[0] == (WIRE_THRIFT_COMPACT if compact else WIRE_THRIFT)
            assert blob[1:] in data
            assert repr(wire_spans(blob, span.process)) == repr([span])


def test_thrift_batch_laid_out_unusually_is_stored_alike() -> None:
    """Fields in another order, the optional seqNo and stats: the same spans are stored, whether
    walked span by span or (when the walk gives up) decoded whole and encoded again."""
    store = MemoryStore()
    batch_decoder = store.stored_decoder("thrift-batch")
    assert batch_decoder is not None
    j = jaeger_thrift._J
    spans = _thrift_spans(3)
    usual = encode_batch(spans)
    whole = thrift_wire.decode_struct(jaeger_thrift.BATCH, usual, 0, False, "Batch", full=True)
    with_extras = thrift_wire.encode_struct(
        j.Batch(whole.process, whole.spans, 7, j.ClientStats(1, 2, 3)), False
    )
    spans_only = thrift_wire.encode_struct(j.Batch(None, whole.spans), False)[:-1]  # without the stop byte
    process_only = thrift_wire.encode_struct(j.Batch(whole.process, None), False)[:-1]
    reordered = spans_only + process_only + b"\x00"
    expected = repr([(r[:BLOB], wire_spans(r[BLOB], spans[0].process)) for r in batch_decoder(usual).records])
    for data in (with_extras, reordered):
        batch = batch_decoder(data)
        assert batch is not None
        assert repr([(r[:BLOB], wire_spans(r[BLOB], spans[0].process)) for r in batch.records]) == expected
    with pytest.raises(DecodeError):  # without its end: refused as the codec refuses it
        batch_decoder(reordered[:-1])
