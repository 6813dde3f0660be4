"""Jaeger Thrift codec: captured client payloads, Jaeger's to/from-domain rules, round trips, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TCompactProtocol import TCompactProtocol
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.codecs import jaeger_thrift, thrift_wire
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.jaeger_thrift import (
    decode_batch,
    encode_agent_message,
    encode_batch,
    encode_batches,
)
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
PY_CLIENT = "py-jaeger-client-4.8.0_udp6831_compact.bin"
OTEL_AGENT = "otel-jaeger-thrift-agent_udp6831_compact.bin"
NODE_CLIENT = "node-jaeger-client-3.19.0_udp6832_binary.bin"
OTEL_COLLECTOR = "otel-jaeger-thrift-collector_http14268_binary-batch.bin"
MESSAGES = (PY_CLIENT, OTEL_AGENT, NODE_CLIENT)
ALL = (*MESSAGES, OTEL_COLLECTOR)
STR, BOOL, INT, FLOAT, BIN = ValueType  # members in definition order
CHILD_OF, FOLLOWS_FROM = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM


def capture(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def decode_capture(name: str) -> dict[str, Span]:
    data = capture(name)
    spans = decode_batch(data) if name == OTEL_COLLECTOR else decode_agent_message(data)
    assert len(spans) == 3
    assert all(s.process is spans[0].process for s in spans)  # one Process object per batch
    return {s.operation_name: s for s in spans}


def tags(kvs: list[KeyValue]) -> dict[str, tuple[ValueType, object]]:
    return {kv.key: (kv.v_type, kv.value) for kv in kvs}


def check_family(spans: dict[str, Span]) -> None:
    root, child1, child2 = spans["root"], spans["child-1"], spans["child-2"]
    assert {s.trace_id for s in spans.values()} == {root.trace_id}
    assert root.references == [] and root.parent_span_id == 0
    assert child1.references == [SpanRef(CHILD_OF, root.trace_id, root.span_id)]
    assert child2.references == [SpanRef(CHILD_OF, root.trace_id, child1.span_id)]
    assert all(s.flags == 1 and s.warnings is None for s in spans.values())
    assert len(child1.logs) == 1 and root.logs == [] and child2.logs == []


def test_python_jaeger_client() -> None:
    spans = decode_capture(PY_CLIENT)
    check_family(spans)
    root, child1, child2 = spans["root"], spans["child-1"], spans["child-2"]
    process = root.process
    assert process.service_name == "jc-demo"
    assert tags(process.tags) == {
        "jaeger.version": (STR, "Python-4.8.0"),
        "ip": (STR, "192.0.2.2"),
        "hostname": (STR, "vm"),
    }
    assert root.trace_id == 0x528F7BA997F2EA10  # a 64-bit trace id
    # Negative i64 on the wire, unsigned here.
    assert (root.span_id, child1.span_id) == (0x8588CAE8C2886255, 0xD4686856FC310264)
    assert child2.span_id == 0x113D8887900103E5
    assert tags(root.tags) == {
        "sampler.type": (STR, "const"),
        "sampler.param": (BOOL, True),
        "http.method": (STR, "GET"),
    }
    assert child1.logs == [Log(1795490031671897, [KeyValue("event", STR, "hello"), KeyValue("n", INT, 1)])]
    assert tags(child2.tags) == {"error": (BOOL, True)}
    assert (root.start_time, root.duration) == (1795490031671862, 215)


@pytest.mark.parametrize("name", [OTEL_AGENT, OTEL_COLLECTOR])
def test_opentelemetry_jaeger_thrift_exporter(name: str) -> None:
    spans = decode_capture(name)
    check_family(spans)
    root, child1, child2 = spans["root"], spans["child-1"], spans["child-2"]
    service = "demo-jaeger-thrift-agent" if name == OTEL_AGENT else "demo-jaeger-thrift-collector"
    # The exporter puts resource attributes into span tags; the process has the name only.
    assert root.process.service_name == service and root.process.tags == []
    assert root.trace_id >> 64  # a real 128-bit trace id
    expected_trace = (
        0xC0BC7430AF44E60D6E5B8BA36F89E93D if name == OTEL_AGENT else 0xC3E09F6302BD6A32D5000B20B3351E52
    )
    assert root.trace_id == expected_trace
    common = {
        "telemetry.sdk.language": (STR, "python"),
        "service.name": (STR, service),
        "span.kind": (STR, "internal"),
        "otel.scope.name": (STR, "feas"),
    }
    assert common.items() <= tags(root.tags).items()
    assert tags(root.tags)["http.status_code"] == (INT, 200)
    assert tags(child2.tags)["db.system"] == (STR, "postgresql")
    assert child1.logs[0].fields == [KeyValue("n", INT, 1), KeyValue("message", STR, "hello")]


def test_node_jaeger_client_binary() -> None:
    spans = decode_capture(NODE_CLIENT)
    check_family(spans)
    root, child1, child2 = spans["root"], spans["child-1"], spans["child-2"]
    assert root.process.service_name == "node-demo"
    assert tags(root.process.tags) == {
        "jaeger.version": (STR, "Node-3.19.0"),
        "hostname": (STR, "vm"),
        "ip": (STR, "192.0.2.2"),
        "client-uuid": (STR, "d6be79d2-4d31-4f04-9c5a-57b112892bdc"),
    }
    assert root.trace_id == root.span_id == 0x3401C55938380645  # Node reuses the root id
    assert child1.span_id == 0xD9FFF8AB23DB294A
    assert [kv.value for kv in child1.logs[0].fields] == ["hello"]
    assert (root.duration, child2.duration) == (1000, 0)  # Node measures in milliseconds
    assert tags(child2.tags) == {"error": (BOOL, True)}


def test_envelope_and_bare_batch_are_not_interchangeable() -> None:
    with pytest.raises(DecodeError):
        decode_agent_message(capture(OTEL_COLLECTOR))
    for name in MESSAGES:
        with pytest.raises(DecodeError):
            decode_batch(capture(name))


def test_uses_the_c_extension_and_light_classes() -> None:
    # Without them ingest is several times slower: make a broken install fail loudly here.
    assert thrift_wire.ACCELERATED
    batch_cls = jaeger_thrift._J.Batch
    assert thrift_wire._use_light and thrift_wire._light_spec(batch_cls)[0] is not batch_cls


# ---- round trips ------------------------------------------------------------------------------

HIGH = 0xFEDCBA9876543210  # ≥ 2^63: negative on the wire
T128 = (HIGH << 64) | 0x8000000000000001
T64 = 0xFFFFFFFFFFFFFFFF


def sample_spans() -> list[Span]:
    process = Process("svc", [KeyValue("hostname", STR, "h"), KeyValue("ip", STR, "10.0.0.1")])
    every_type = [
        KeyValue("s", STR, "é"),
        KeyValue("b", BOOL, False),
        KeyValue("i", INT, -(2**63)),
        KeyValue("f", FLOAT, -1.5e300),
        KeyValue("x", BIN, b"\x00\xff"),
        KeyValue("empty", STR, ""),
    ]
    log = Log(1_700_000_000_000_001, [KeyValue("event", STR, "e"), KeyValue("n", INT, 2**63 - 1)])
    child_refs = [SpanRef(CHILD_OF, T128, HIGH), SpanRef(FOLLOWS_FROM, 7, 8)]
    # CHILD_OF after another reference: it is the parent, and it stays where it is.
    late_parent = [SpanRef(FOLLOWS_FROM, T64, 9), SpanRef(CHILD_OF, T64, 1)]
    return [
        Span(T128, HIGH, "root", [], 1, 1_700_000_000_000_000, 10, every_type, [log], process),
        Span(T128, 2, "child", child_refs, 3, 5, 0, [], [], process),
        # A parent given by FOLLOWS_FROM only: encoded as parentSpanId, kept as the same reference.
        Span(T128, 3, "follower", [SpanRef(FOLLOWS_FROM, T128, 2)], 0, 6, 1, [], [], process),
        Span(T64, T64, "x", late_parent, 0xFFFFFFFF, -1, 2, [], [], process),
        Span(1, 1, "", [], 0, 0, 0, [], [Log(0, [])], process),
    ]


ENCODERS: dict[str, Callable[[list[Span]], list[Span]]] = {
    "compact": lambda spans: decode_agent_message(encode_agent_message(spans, "compact")),
    "binary": lambda spans: decode_agent_message(encode_agent_message(spans, "binary")),
    "batch": lambda spans: decode_batch(encode_batch(spans)),
}


@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_round_trip(kind: str) -> None:
    spans = sample_spans()
    decoded = ENCODERS[kind](spans)
    assert decoded == spans
    assert all(s.process is decoded[0].process for s in decoded)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_captures_survive_a_round_trip(name: str, kind: str) -> None:
    spans = list(decode_capture(name).values())
    assert ENCODERS[kind](spans) == spans


def test_encode_batches_groups_by_process() -> None:
    a, b = Process("a"), Process("b")
    spans = [Span(1, i, "op", [], 1, 0, 0, [], [], p) for i, p in enumerate([a, b, Process("a"), b], 1)]
    batches = encode_batches(spans)
    assert [[s.span_id for s in decode_batch(x)] for x in batches] == [[1, 3], [2, 4]]
    assert encode_batches([]) == []
    with pytest.raises(ValueError, match="several processes"):
        encode_batch(spans)
    with pytest.raises(ValueError):
        encode_batch([])
    with pytest.raises(ValueError):
        encode_agent_message(spans[:1], "json")
    with pytest.raises(ValueError):  # does not fit an i64
        encode_batch([Span(1, 1, "op", [], 1, 2**64, 0, [], [], a)])


# ---- hand-written Thrift: what clients may send that our encoder never would -------------------

Fields = list[tuple[int, int, Any]]


def write(proto: Any, ttype: int, value: Any) -> None:
    """Write a value; structs are [(id, type, value)], lists (element type, [values])."""
    if ttype == TType.STRUCT:
        proto.writeStructBegin("s")
        for fid, ftype, fvalue in value:
            proto.writeFieldBegin("f", ftype, fid)
            write(proto, ftype, fvalue)
            proto.writeFieldEnd()
        proto.writeFieldStop()
        proto.writeStructEnd()
    elif ttype == TType.LIST:
        etype, items = value
        proto.writeListBegin(etype, len(items))
        for item in items:
            write(proto, etype, item)
        proto.writeListEnd()
    else:
        method = {TType.STRING: "writeBinary", TType.I64: "writeI64", TType.I32: "writeI32"}
        method |= {TType.BOOL: "writeBool", TType.DOUBLE: "writeDouble", TType.I16: "writeI16"}
        getattr(proto, method[ttype])(value.encode() if isinstance(value, str) else value)


def message(batch: Fields, protocol: str = "compact", name: str = "emitBatch", kind: int = 4) -> bytes:
    buf = TMemoryBuffer()
    proto = TCompactProtocol(buf) if protocol == "compact" else TBinaryProtocol(buf)
    proto.writeMessageBegin(name, kind, 7)
    write(proto, TType.STRUCT, [(1, TType.STRUCT, batch)])
    return bytes(buf.getvalue())


def tag(key: str, vtype: int, *value: tuple[int, int, Any]) -> Fields:
    return [(1, TType.STRING, key), (2, TType.I32, vtype), *value]


def span(*extra: tuple[int, int, Any], drop: int = 0) -> Fields:
    fields = [
        (1, TType.I64, -1),
        (2, TType.I64, 0),
        (3, TType.I64, 5),
        (4, TType.I64, 4),
        (5, TType.STRING, "op"),
        (7, TType.I32, 1),
        (8, TType.I64, 100),
        (9, TType.I64, 3),
    ]
    return [f for f in fields if f[0] != drop] + list(extra)


def batch(*spans: Fields, process: Fields | None = None) -> Fields:
    proc = process if process is not None else [(1, TType.STRING, "svc")]
    return [(1, TType.STRUCT, proc), (2, TType.LIST, (TType.STRUCT, list(spans)))]


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_hand_written_message(protocol: str) -> None:
    refs = (
        6,
        TType.LIST,
        (TType.STRUCT, [[(1, TType.I32, 1), (2, TType.I64, 9), (3, TType.I64, 0), (4, TType.I64, 8)]]),
    )
    unknown = (12, TType.BOOL, True)  # the withdrawn `incomplete` field: skipped
    (s,) = decode_agent_message(message(batch(span(refs, unknown)), protocol, kind=1))  # CALL
    assert (s.trace_id, s.span_id, s.operation_name) == (T64, 5, "op")
    # parentSpanId 4 becomes a leading CHILD_OF; the listed reference follows.
    assert s.references == [SpanRef(CHILD_OF, T64, 4), SpanRef(FOLLOWS_FROM, 9, 8)]


def test_parent_already_referenced_with_any_type_is_not_added() -> None:
    ref = [(1, TType.I32, 1), (2, TType.I64, -1), (3, TType.I64, 0), (4, TType.I64, 4)]
    (s,) = decode_agent_message(message(batch(span((6, TType.LIST, (TType.STRUCT, [ref]))))))
    assert s.references == [SpanRef(FOLLOWS_FROM, T64, 4)]


def test_tag_values_absent_or_of_unknown_type() -> None:
    fields = [
        tag("s", 0),
        tag("d", 1),
        tag("b", 2),
        tag("l", 3),
        tag("x", 4),
        tag("wrong", 0, (3, TType.I64, 5)),  # vStr sent as an i64: skipped, so absent
        tag("odd", 9, (3, TType.STRING, "v")),
    ]
    (s,) = decode_agent_message(message(batch(span((10, TType.LIST, (TType.STRUCT, fields))))))
    assert [(kv.key, kv.v_type, kv.value) for kv in s.tags[:6]] == [
        ("s", STR, ""),
        ("d", FLOAT, 0.0),
        ("b", BOOL, False),
        ("l", INT, 0),
        ("x", BIN, b""),
        ("wrong", STR, ""),
    ]
    assert s.tags[6].key == "odd" and s.tags[6].v_type == STR
    assert str(s.tags[6].value).startswith("Unknown VType")


def test_unknown_ref_type_is_a_warning() -> None:
    ref = [(1, TType.I32, 7), (2, TType.I64, 1), (3, TType.I64, 0), (4, TType.I64, 2)]
    (s,) = decode_agent_message(message(batch(span((6, TType.LIST, (TType.STRUCT, [ref]))))))
    assert s.references[1] == SpanRef(FOLLOWS_FROM, 1, 2)
    assert s.warnings and "refType 7" in s.warnings[0]


def test_negative_flags_and_invalid_utf8() -> None:
    extra = [(5, TType.STRING, b"caf\xc3"), (7, TType.I32, -1)]
    fields = [f for f in span() if f[0] not in (5, 7)] + extra
    for protocol in ("compact", "binary"):
        (s,) = decode_agent_message(message(batch(fields), protocol))
        assert s.flags == 0xFFFFFFFF  # Jaeger's flags are a uint32
        assert s.operation_name == "caf\ufffd"  # Go keeps the bytes; its JSON then replaces them


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (batch(span(drop=1)), "emitBatch.batch.spans[0].traceIdLow"),
        (batch(span(drop=4)), "emitBatch.batch.spans[0].parentSpanId"),
        (batch(span(drop=5)), "emitBatch.batch.spans[0].operationName"),
        (batch(span(drop=9)), "emitBatch.batch.spans[0].duration"),
        # The wrong wire type for a required field: skipped, hence missing.
        (batch([*span(drop=3), (3, TType.STRING, "5")]), "emitBatch.batch.spans[0].spanId"),
        (
            batch(span(), span((10, TType.LIST, (TType.STRUCT, [[(2, TType.I32, 0)]])))),
            "spans[1].tags[0].key",
        ),
        (batch(span((10, TType.LIST, (TType.STRUCT, [[(1, TType.STRING, "k")]])))), "tags[0].vType"),
        (
            batch(span((11, TType.LIST, (TType.STRUCT, [[(2, TType.LIST, (TType.STRUCT, []))]])))),
            "logs[0].timestamp",
        ),
        (batch(span((11, TType.LIST, (TType.STRUCT, [[(1, TType.I64, 1)]])))), "logs[0].fields"),
        (batch(span((6, TType.LIST, (TType.STRUCT, [[(1, TType.I32, 0)]])))), "references[0].traceIdLow"),
        (batch(span(), process=[(2, TType.LIST, (TType.STRUCT, []))]), "emitBatch.batch.process.serviceName"),
        ([(2, TType.LIST, (TType.STRUCT, []))], "emitBatch.batch.process"),
        ([(1, TType.STRUCT, [(1, TType.STRING, "svc")])], "emitBatch.batch.spans"),
    ],
)
def test_missing_required_field_is_named(data: Fields, where: str) -> None:
    for protocol in ("compact", "binary"):
        with pytest.raises(DecodeError, match="required field") as e:
            decode_agent_message(message(data, protocol))
        assert where in str(e.value)


def test_bare_batch_missing_field_is_named() -> None:
    buf = TMemoryBuffer()
    write(TBinaryProtocol(buf), TType.STRUCT, batch(span(drop=2)))
    with pytest.raises(DecodeError, match=r"Batch\.spans\[0\]\.traceIdHigh"):
        decode_batch(bytes(buf.getvalue()))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"\x81\x81", "first byte 0x81"),
        (b"{}", "first byte 0x7b"),
        (b"\x82\x82\x00\x09emitBatch\x00", "version 2"),
        (b"\x82\x81\x00\x7femitBatch", "overruns"),
        (b"\x82\x81\x80\x80\x80\x80\x80\x00", "varint"),
        (b"\x80\x02\x00\x04\x00\x00\x00\x09emitBatch\x00\x00\x00\x00\x00", "header 0x80020004"),
        (b"\x82\x81\x00\x09emitBatch\x00", "batch argument"),
        (b"\x82\x81\x00\x09emitBatch\x1c\x00\x00", "batch.process: required"),
    ],
)
def test_bad_envelope(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_agent_message(data)


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_methods_and_message_types(protocol: str) -> None:
    # emitZipkinBatch is accepted (tests/codecs/test_zipkin_v1.py); other methods are not.
    with pytest.raises(DecodeError, match="unknown method 'getSamplingStrategy'"):
        decode_agent_message(message(batch(span()), protocol, name="getSamplingStrategy"))
    with pytest.raises(DecodeError, match="message type 2"):
        decode_agent_message(message(batch(span()), protocol, kind=2))  # REPLY


def test_non_strict_binary_message() -> None:
    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf, strictWrite=False)
    proto.writeMessageBegin("emitBatch", 4, 0)
    write(proto, TType.STRUCT, [(1, TType.STRUCT, batch(span()))])
    data = bytes(buf.getvalue())
    assert data[0] == 0
    assert [s.span_id for s in decode_agent_message(data)] == [5]


def test_hostile_lengths_and_nesting() -> None:
    huge_list = b"\x82\x81\x00\x09emitBatch\x1c\x1c\x18\x01s\x00\x19\xfc\xff\xff\xff\x07"
    with pytest.raises(DecodeError):
        decode_agent_message(huge_list)
    # An unknown field nested 100,000 lists deep: thrift's C decoder stops at depth 64.
    deep = b"\x82\x81\x00\x09emitBatch\x1c\x59" + b"\x19" * 100_000 + b"\x09\x00\x00"
    with pytest.raises(DecodeError):
        decode_agent_message(deep)


@pytest.mark.parametrize("name", ALL)
def test_every_truncation_is_a_decode_error(name: str) -> None:
    data = capture(name)
    decode = decode_batch if name == OTEL_COLLECTOR else decode_agent_message
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode(data[:end])


def test_pure_python_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the C extension the codec still works, through the generated Python code."""
    expected = {name: decode_capture(name) for name in ALL}
    spans = sample_spans()
    monkeypatch.setattr(thrift_wire, "_fast", None)
    for name, by_op in expected.items():
        assert decode_capture(name) == by_op
    assert ENCODERS["compact"](spans) == ENCODERS["binary"](spans) == ENCODERS["batch"](spans) == spans
    with pytest.raises(DecodeError, match=r"spans\[0\]\.operationName"):
        decode_agent_message(message(batch(span(drop=5))))
    data = capture(PY_CLIENT)
    for end in range(0, len(data), 7):
        with pytest.raises(DecodeError):
            decode_agent_message(data[:end])
