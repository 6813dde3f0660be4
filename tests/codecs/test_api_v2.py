"""api_v2 protobuf codec: the captured OTel payload, Jaeger's decoding rules, round trips,
malformed input, sampling messages, and the wire contract (names and numbers) itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from pyjaeger.codecs.api_v2 import (
    NULL_PROCESS_SERVICE_NAME,
    POST_SPANS_METHOD,
    batch_pb_to_spans,
    decode_post_spans,
    encode_post_spans,
    encode_post_spans_response,
    spans_to_batch_pb,
)
from pyjaeger.codecs.api_v2_sampling import (
    GET_SAMPLING_STRATEGY_METHOD,
    decode_sampling_request,
    decode_sampling_response,
    encode_sampling_request,
    encode_sampling_response,
)
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.idl.api_v2 import collector_pb2, model_pb2, sampling_pb2
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
CAPTURE = CAPTURES / "otel-jaeger-proto-grpc_PostSpansRequest.bin"
STR, BOOL, INT, FLOAT, BIN = ValueType  # members in definition order
CHILD_OF, FOLLOWS_FROM = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM
T128 = 0x0102030405060708090A0B0C0D0E0F10
T64 = 0x1122334455667788


def parse_request(data: bytes) -> collector_pb2.PostSpansRequest:
    req = collector_pb2.PostSpansRequest()
    req.ParseFromString(data)
    return req


def request(*spans: model_pb2.Span, process: model_pb2.Process | None = None) -> bytes:
    batch = model_pb2.Batch(spans=spans)
    if process is not None:
        batch.process.CopyFrom(process)
    return collector_pb2.PostSpansRequest(batch=batch).SerializeToString()


def pb_span(span_id: int = 1, trace_id: bytes = T128.to_bytes(16, "big"), **kw: Any) -> model_pb2.Span:
    return model_pb2.Span(trace_id=trace_id, span_id=span_id.to_bytes(8, "big"), operation_name="op", **kw)


# --- the captured payload ------------------------------------------------------------------------


def test_captured_payload_shape_on_the_wire() -> None:
    # What makes this client special: no batch.process, a full process on every span.
    req = parse_request(CAPTURE.read_bytes())
    assert not req.batch.HasField("process")
    assert len(req.batch.spans) == 3
    assert all(s.HasField("process") for s in req.batch.spans)


def test_captured_payload() -> None:
    spans = decode_post_spans(CAPTURE.read_bytes())
    by_name = {s.operation_name: s for s in spans}
    assert [s.operation_name for s in spans] == ["child-2", "child-1", "root"]  # export order
    root, child1, child2 = by_name["root"], by_name["child-1"], by_name["child-2"]

    trace_id = 0x2825EAB1556411F5239F3BB847800CBC
    assert {s.trace_id for s in spans} == {trace_id}
    assert root.span_id == 0x7F7A62DB46321EE2
    assert child1.span_id == 0x43272AE4160B1704
    assert child2.span_id == 0xB9A27F137CCF8036
    assert root.references == []
    assert child1.references == [SpanRef(CHILD_OF, trace_id, root.span_id)]
    assert child2.references == [SpanRef(CHILD_OF, trace_id, child1.span_id)]
    assert (root.parent_span_id, child1.parent_span_id, child2.parent_span_id) == (
        0,
        root.span_id,
        child1.span_id,
    )
    assert {s.flags for s in spans} == {1}
    assert all(s.warnings is None for s in spans)

    # Times: nanoseconds on the wire, floored to µs (116348 ns → 116 µs).
    assert root.start_time == 1795490030815733 and root.duration == 116
    assert child1.start_time == 1795490030815780 and child1.duration == 63
    assert child2.start_time == 1795490030815821 and child2.duration == 9

    # One Process object for the three spans, though each span carried its own copy.
    assert len({id(s.process) for s in spans}) == 1
    assert root.process == Process(
        "demo-jaeger-proto-grpc",
        [
            KeyValue("telemetry.sdk.language", STR, "python"),
            KeyValue("telemetry.sdk.name", STR, "opentelemetry"),
            KeyValue("telemetry.sdk.version", STR, "1.27.0"),
            KeyValue("service.name", STR, "demo-jaeger-proto-grpc"),
        ],
    )

    # The exporter repeats resource attributes as span tags and appends kind and scope tags.
    otel_tail = [
        KeyValue("telemetry.sdk.language", STR, "python"),
        KeyValue("telemetry.sdk.name", STR, "opentelemetry"),
        KeyValue("telemetry.sdk.version", STR, "1.27.0"),
        KeyValue("service.name", STR, "demo-jaeger-proto-grpc"),
        KeyValue("span.kind", STR, "internal"),
        KeyValue("otel.library.name", STR, "feas"),
        KeyValue("otel.library.version", STR, ""),
        KeyValue("otel.scope.name", STR, "feas"),
        KeyValue("otel.scope.version", STR, ""),
    ]
    assert root.tags == [
        KeyValue("http.method", STR, "GET"),
        KeyValue("http.status_code", INT, 200),
        *otel_tail,
    ]
    assert child1.tags == otel_tail
    assert child2.tags == [KeyValue("db.system", STR, "postgresql"), *otel_tail]
    assert root.span_kind == "internal"

    # The event became a log without an `event` field: its name is not carried by this exporter.
    assert root.logs == [] and child2.logs == []
    assert child1.logs == [Log(1795490030815798, [KeyValue("n", INT, 1), KeyValue("message", STR, "hello")])]
    assert child1.start_time <= child1.logs[0].timestamp <= child1.start_time + child1.duration


def test_captured_payload_round_trip() -> None:
    spans = decode_post_spans(CAPTURE.read_bytes())
    data = encode_post_spans(spans)
    assert decode_post_spans(data) == spans
    req = parse_request(data)
    # Re-encoded in the agent's shape: the shared process once, on the batch.
    assert req.batch.process.service_name == "demo-jaeger-proto-grpc"
    assert not any(s.HasField("process") for s in req.batch.spans)


# --- decoding rules ------------------------------------------------------------------------------


def test_short_trace_id_is_the_low_half() -> None:
    data = request(
        pb_span(
            trace_id=T64.to_bytes(8, "big"),
            references=[model_pb2.SpanRef(trace_id=T64.to_bytes(8, "big"), span_id=(9).to_bytes(8, "big"))],
        )
    )
    (span,) = decode_post_spans(data)
    assert span.trace_id == T64
    assert span.references == [SpanRef(CHILD_OF, T64, 9)]


def test_process_inheritance_and_sharing() -> None:
    batch_process = model_pb2.Process(
        service_name="batch-svc", tags=[model_pb2.KeyValue(key="host", v_str="h1")]
    )
    own = model_pb2.Process(service_name="own-svc")
    data = request(
        pb_span(1),
        pb_span(2, process=own),
        pb_span(3),
        pb_span(4, process=own),
        pb_span(5, process=batch_process),  # equal to batch.process: the same object
        process=batch_process,
    )
    s1, s2, s3, s4, s5 = decode_post_spans(data)
    assert s1.process == Process("batch-svc", [KeyValue("host", STR, "h1")])
    assert s1.process is s3.process is s5.process
    assert s2.process == Process("own-svc", [])
    assert s2.process is s4.process


def test_no_process_anywhere_gets_jaegers_null_process_name() -> None:
    s1, s2 = decode_post_spans(request(pb_span(1), pb_span(2)))
    assert s1.process == Process(NULL_PROCESS_SERVICE_NAME, [])
    assert s1.process is s2.process


def test_present_but_empty_batch_process_is_kept_empty() -> None:
    # An empty process is "no service name" (sanitized later), not "no process".
    (span,) = decode_post_spans(request(pb_span(), process=model_pb2.Process()))
    assert span.process == Process("", [])


def test_times_floor_to_microseconds() -> None:
    data = request(
        pb_span(
            start_time=timestamp_pb2.Timestamp(seconds=10, nanos=1999),
            duration=duration_pb2.Duration(seconds=-1, nanos=-500_000_001),
            logs=[model_pb2.Log(timestamp=timestamp_pb2.Timestamp(seconds=0, nanos=999))],
        )
    )
    (span,) = decode_post_spans(data)
    assert span.start_time == 10_000_001
    assert span.duration == -1_500_001  # floored; the collector's sanitizer clamps negatives
    assert span.logs == [Log(0, [])]


def test_absent_times_are_zero() -> None:
    (span,) = decode_post_spans(request(pb_span()))
    assert (span.start_time, span.duration, span.flags) == (0, 0, 0)


def test_unknown_value_type_keeps_the_string_with_a_warning() -> None:
    odd = model_pb2.KeyValue(key="odd", v_str="s", v_int64=5)
    odd.v_type = 9  # type: ignore[assignment]  # proto3 enums are open; senders may use new numbers
    data = request(
        pb_span(tags=[odd], logs=[model_pb2.Log(fields=[odd])], warnings=["from client"]),
        process=model_pb2.Process(service_name="svc", tags=[odd]),
    )
    (span,) = decode_post_spans(data)
    assert span.tags == [KeyValue("odd", STR, "s")]
    assert span.logs[0].fields == [KeyValue("odd", STR, "s")]
    assert span.process.tags == [KeyValue("odd", STR, "s")]
    assert span.warnings is not None and span.warnings[0] == "from client"
    assert [w.split()[0:2] for w in span.warnings[1:]] == [["tag", "'odd'"], ["log", "field"]]


def test_unknown_reference_type_reads_as_child_of() -> None:
    ref = model_pb2.SpanRef(trace_id=T128.to_bytes(16, "big"), span_id=(7).to_bytes(8, "big"))
    ref.ref_type = 5  # type: ignore[assignment]
    (span,) = decode_post_spans(request(pb_span(references=[ref])))
    assert span.references == [SpanRef(CHILD_OF, T128, 7)]


def test_process_id_is_ignored() -> None:
    (span,) = decode_post_spans(request(pb_span(process_id="p1")))
    assert span.process.service_name == NULL_PROCESS_SERVICE_NAME


def test_empty_request() -> None:
    assert decode_post_spans(b"") == []
    empty = collector_pb2.PostSpansRequest(batch=model_pb2.Batch())
    assert encode_post_spans([]) == empty.SerializeToString()
    assert decode_post_spans(encode_post_spans([])) == []


# --- round trips ---------------------------------------------------------------------------------


def every_value_type() -> list[KeyValue]:
    return [
        KeyValue("s", STR, "héllo"),
        KeyValue("empty", STR, ""),
        KeyValue("t", BOOL, True),
        KeyValue("f", BOOL, False),
        KeyValue("i", INT, -42),
        KeyValue("min", INT, -(2**63)),
        KeyValue("max", INT, 2**63 - 1),
        KeyValue("d", FLOAT, -0.25),
        KeyValue("big", FLOAT, 1.5e300),
        KeyValue("b", BIN, b"\x00\xff\x10"),
        KeyValue("nob", BIN, b""),
    ]


def sample_spans() -> list[Span]:
    p1 = Process("frontend", [KeyValue("hostname", STR, "h1"), KeyValue("ip", INT, 0x7F000001)])
    p1_copy = Process("frontend", [KeyValue("hostname", STR, "h1"), KeyValue("ip", INT, 0x7F000001)])
    p2 = Process("backend", every_value_type())
    p3 = Process("", [])
    return [
        Span(T128, 1, "root", [], 1, 1_700_000_000_000_000, 1500, every_value_type(), [], p1),
        Span(
            T128,
            2,
            "child",
            [
                SpanRef(CHILD_OF, T128, 1),
                SpanRef(FOLLOWS_FROM, T128, 0xFFFF_FFFF_FFFF_FFFF),
                SpanRef(FOLLOWS_FROM, T64, 3),  # another trace
            ],
            3,
            1_700_000_000_000_100,
            0,
            [],
            [
                Log(1_700_000_000_000_150, [KeyValue("event", STR, "retry"), *every_value_type()]),
                Log(1_700_000_000_000_151, []),
            ],
            p2,
            ["clock skew", "second warning"],
        ),
        Span(T64, 0xFFFF_FFFF_FFFF_FFFF, "64-bit", [], 8, 0, 1_234_567_891, [], [], p1_copy),
        Span(2**128 - 1, 4, "max ids", [], 0, 999_999, -3_000_001, [], [], p3, []),
        Span(T128, 5, "", [SpanRef(FOLLOWS_FROM, T128, 1)], 2, 1, 1, [], [], p2),
    ]


def normalized(spans: list[Span]) -> list[Span]:
    # An empty warnings list has no wire form different from "none".
    for s in spans:
        if not s.warnings:
            s.warnings = None
    return spans


def test_round_trip() -> None:
    spans = sample_spans()
    decoded = decode_post_spans(encode_post_spans(spans))
    assert decoded == normalized(sample_spans())
    # Equal processes come back as one object, different ones apart.
    assert decoded[0].process is decoded[2].process
    assert decoded[1].process is decoded[4].process
    assert len({id(s.process) for s in decoded}) == 3


def test_encode_puts_the_first_process_on_the_batch() -> None:
    spans = sample_spans()
    req = parse_request(encode_post_spans(spans))
    assert req.batch.process.service_name == "frontend"
    # Same object or equal to the first process → no own process; anything else carries one.
    assert [s.HasField("process") for s in req.batch.spans] == [False, True, False, True, True]
    assert [s.process.service_name for s in req.batch.spans] == ["", "backend", "", "", "backend"]


def test_encode_ids_times_and_types_on_the_wire() -> None:
    spans = sample_spans()
    batch = spans_to_batch_pb(spans)
    root, child, short, maxed, _ = batch.spans
    assert root.trace_id == T128.to_bytes(16, "big")
    assert short.trace_id == T64.to_bytes(16, "big")  # always 16 bytes, as Jaeger writes them
    assert short.span_id == b"\xff" * 8
    assert maxed.trace_id == b"\xff" * 16
    assert (root.start_time.seconds, root.start_time.nanos) == (1_700_000_000, 0)
    assert (root.duration.seconds, root.duration.nanos) == (0, 1_500_000)
    assert (short.duration.seconds, short.duration.nanos) == (1234, 567_891_000)
    # A negative duration keeps seconds and nanos of one sign, as google.protobuf.Duration needs.
    assert (maxed.duration.seconds, maxed.duration.nanos) == (-3, -1000)
    assert [r.ref_type for r in child.references] == [
        model_pb2.CHILD_OF,
        model_pb2.FOLLOWS_FROM,
        model_pb2.FOLLOWS_FROM,
    ]
    assert [(kv.key, kv.v_type) for kv in root.tags[:5]] == [
        ("s", model_pb2.STRING),
        ("empty", model_pb2.STRING),
        ("t", model_pb2.BOOL),
        ("f", model_pb2.BOOL),
        ("i", model_pb2.INT64),
    ]
    assert root.tags[4].v_int64 == -42 and root.tags[9].v_binary == b"\x00\xff\x10"
    assert list(child.warnings) == ["clock skew", "second warning"]
    assert batch_pb_to_spans(batch) == normalized(sample_spans())


def test_spans_to_batch_pb_fills_a_given_message() -> None:
    req = collector_pb2.PostSpansRequest()
    out = spans_to_batch_pb(sample_spans()[:1], req.batch)
    assert out is req.batch and len(req.batch.spans) == 1


def test_post_spans_response_is_empty() -> None:
    assert encode_post_spans_response() == b""


# --- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xff\xff\xff",
        b"\x0a\x05\x0a\x03",  # a length running past the end
        b"\x0a\x02\x0a\x80",  # a truncated varint
        b"not protobuf at all",
        CAPTURE.read_bytes()[:-7],
        CAPTURE.read_bytes()[: len(CAPTURE.read_bytes()) // 2],
    ],
)
def test_garbage_and_truncation(data: bytes) -> None:
    with pytest.raises(DecodeError, match="PostSpansRequest"):
        decode_post_spans(data)


def test_invalid_utf8_string() -> None:
    data = request(pb_span())
    data = data.replace(b"op", b"\xc3\x28")
    with pytest.raises(DecodeError):
        decode_post_spans(data)


@pytest.mark.parametrize(
    ("span", "field"),
    [
        (pb_span(trace_id=b"\x01" * 12), r"batch.spans\[1\].trace_id: expected 16 or 8 bytes, got 12"),
        (pb_span(trace_id=b""), r"batch.spans\[1\].trace_id: expected 16 or 8 bytes, got 0"),
        (model_pb2.Span(trace_id=b"\x01" * 16, span_id=b"\x01" * 7), r"spans\[1\].span_id: .* got 7"),
        (model_pb2.Span(trace_id=b"\x01" * 16), r"batch.spans\[1\].span_id: expected 8 bytes, got 0"),
        (
            pb_span(references=[model_pb2.SpanRef(trace_id=b"\x01" * 17, span_id=b"\x01" * 8)]),
            r"batch.spans\[1\].references\[0\].trace_id: expected 16 or 8 bytes, got 17",
        ),
        (
            pb_span(references=[model_pb2.SpanRef(trace_id=b"\x01" * 16, span_id=b"\x01" * 9)]),
            r"batch.spans\[1\].references\[0\].span_id: expected 8 bytes, got 9",
        ),
    ],
)
def test_id_lengths(span: model_pb2.Span, field: str) -> None:
    data = request(pb_span(), span)
    with pytest.raises(DecodeError, match=field):
        decode_post_spans(data)


# --- sampling ------------------------------------------------------------------------------------

PROBABILISTIC = {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": 0.001}}
RATE_LIMITING = {"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 42}}
PER_OPERATION = {
    "strategyType": "PROBABILISTIC",
    "probabilisticSampling": {"samplingRate": 0.2},
    "operationSampling": {
        "defaultSamplingProbability": 0.2,
        "defaultLowerBoundTracesPerSecond": 0.5,
        "perOperationStrategies": [
            {"operation": "/health", "probabilisticSampling": {"samplingRate": 0.0}},
            {"operation": "GET /api", "probabilisticSampling": {"samplingRate": 1.0}},
        ],
        "defaultUpperBoundTracesPerSecond": 0.0,
    },
}
# Jaeger's file provider can answer a rate-limited service with per-operation rules too.
RATE_LIMITING_WITH_OPERATIONS = {
    "strategyType": "RATE_LIMITING",
    "rateLimitingSampling": {"maxTracesPerSecond": 3},
    "operationSampling": {
        "defaultSamplingProbability": 0.2,
        "defaultLowerBoundTracesPerSecond": 0.0,
        "perOperationStrategies": [{"operation": "/health", "probabilisticSampling": {"samplingRate": 0.1}}],
        "defaultUpperBoundTracesPerSecond": 10.0,
    },
}


@pytest.mark.parametrize("resp", [PROBABILISTIC, RATE_LIMITING, PER_OPERATION, RATE_LIMITING_WITH_OPERATIONS])
def test_sampling_response_round_trip(resp: dict[str, Any]) -> None:
    assert decode_sampling_response(encode_sampling_response(resp)) == resp


def test_sampling_response_on_the_wire() -> None:
    msg = sampling_pb2.SamplingStrategyResponse()
    msg.ParseFromString(encode_sampling_response(PER_OPERATION))
    assert msg.strategyType == sampling_pb2.PROBABILISTIC
    assert msg.operationSampling.perOperationStrategies[1].operation == "GET /api"
    # A strategy whose only value is zero still arrives as present.
    assert msg.operationSampling.perOperationStrategies[0].HasField("probabilisticSampling")
    assert not msg.HasField("rateLimitingSampling")

    msg.ParseFromString(encode_sampling_response(RATE_LIMITING))
    assert msg.strategyType == sampling_pb2.RATE_LIMITING
    assert msg.rateLimitingSampling.maxTracesPerSecond == 42


def test_sampling_response_fills_omitted_fields() -> None:
    # Thrift-JSON style numbers, None as absent, defaults filled in on the way back.
    resp = {
        "strategyType": 1,
        "probabilisticSampling": None,
        "rateLimitingSampling": {"maxTracesPerSecond": 0},
        "operationSampling": {
            "defaultSamplingProbability": 0.5,
            "perOperationStrategies": [{"operation": "x"}],
        },
    }
    assert decode_sampling_response(encode_sampling_response(resp)) == {
        "strategyType": "RATE_LIMITING",
        "rateLimitingSampling": {"maxTracesPerSecond": 0},
        "operationSampling": {
            "defaultSamplingProbability": 0.5,
            "defaultLowerBoundTracesPerSecond": 0.0,
            "perOperationStrategies": [{"operation": "x"}],
            "defaultUpperBoundTracesPerSecond": 0.0,
        },
    }
    assert decode_sampling_response(b"") == {"strategyType": "PROBABILISTIC"}


def test_sampling_response_unknown_strategy_type_number() -> None:
    msg = sampling_pb2.SamplingStrategyResponse()
    msg.strategyType = 7  # type: ignore[assignment]
    assert decode_sampling_response(msg.SerializeToString()) == {"strategyType": 7}


@pytest.mark.parametrize(
    ("resp", "match"),
    [
        ({"strategyType": "ADAPTIVE"}, "strategyType"),
        ({"strategyType": True}, "strategyType"),
        (
            {"probabilisticSampling": {"samplingrate": 0.1}},
            "unknown field probabilisticSampling.samplingrate",
        ),
        ({"probabilisticSampling": {"samplingRate": "high"}}, "probabilisticSampling.samplingRate"),
        ({"rateLimitingSampling": {"maxTracesPerSecond": 2.5}}, "rateLimitingSampling.maxTracesPerSecond"),
        ({"rateLimitingSampling": {"maxTracesPerSecond": 2**40}}, "rateLimitingSampling.maxTracesPerSecond"),
        ({"rateLimitingSampling": 5}, "rateLimitingSampling: expected an object"),
        (
            {"operationSampling": {"perOperationStrategies": [{"operation": 1}]}},
            r"operationSampling.perOperationStrategies\[0\].operation",
        ),
        ({"type": "probabilistic"}, "unknown field type"),
    ],
)
def test_sampling_response_bad_dict(resp: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_sampling_response(resp)


def test_sampling_request_round_trip() -> None:
    data = encode_sampling_request("frontend")
    assert data == sampling_pb2.SamplingStrategyParameters(serviceName="frontend").SerializeToString()
    assert decode_sampling_request(data) == "frontend"
    assert decode_sampling_request(b"") == ""


@pytest.mark.parametrize("decode", [decode_sampling_request, decode_sampling_response])
def test_sampling_garbage(decode: Any) -> None:
    with pytest.raises(DecodeError, match="SamplingStrategy"):
        decode(b"\x0a\x09short")


# --- the wire contract -----------------------------------------------------------------------------

# Jaeger's names and field numbers: the .proto files are ours, these facts are not negotiable.
CONTRACT = {
    "KeyValue": "key=1 v_type=2 v_str=3 v_bool=4 v_int64=5 v_float64=6 v_binary=7",
    "Log": "timestamp=1 fields=2",
    "SpanRef": "trace_id=1 span_id=2 ref_type=3",
    "Process": "service_name=1 tags=2",
    "Span": (
        "trace_id=1 span_id=2 operation_name=3 references=4 flags=5 start_time=6 duration=7 tags=8"
        " logs=9 process=10 process_id=11 warnings=12"
    ),
    "Trace": "spans=1 process_map=2 warnings=3",
    "Trace.ProcessMapping": "process_id=1 process=2",
    "Batch": "spans=1 process=2",
    "DependencyLink": "parent=1 child=2 call_count=3 source=4",
    "PostSpansRequest": "batch=1",
    "PostSpansResponse": "",
    "ProbabilisticSamplingStrategy": "samplingRate=1",
    "RateLimitingSamplingStrategy": "maxTracesPerSecond=1",
    "OperationSamplingStrategy": "operation=1 probabilisticSampling=2",
    "PerOperationSamplingStrategies": (
        "defaultSamplingProbability=1 defaultLowerBoundTracesPerSecond=2 perOperationStrategies=3"
        " defaultUpperBoundTracesPerSecond=4"
    ),
    "SamplingStrategyResponse": (
        "strategyType=1 probabilisticSampling=2 rateLimitingSampling=3 operationSampling=4"
    ),
    "SamplingStrategyParameters": "serviceName=1",
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_message_fields_match_jaeger(name: str) -> None:
    # All three files live in the default pool, so one lookup finds any of their messages.
    desc = model_pb2.DESCRIPTOR.pool.FindMessageTypeByName(f"jaeger.api_v2.{name}")
    fields = " ".join(f"{f.name}={f.number}" for f in desc.fields)
    assert fields == CONTRACT[name]


def test_enums_and_methods_match_jaeger() -> None:
    def values(enum: Any) -> dict[str, int]:
        return {v.name: v.number for v in enum.values}

    assert values(model_pb2.DESCRIPTOR.enum_types_by_name["ValueType"]) == {
        "STRING": 0,
        "BOOL": 1,
        "INT64": 2,
        "FLOAT64": 3,
        "BINARY": 4,
    }
    assert values(model_pb2.DESCRIPTOR.enum_types_by_name["SpanRefType"]) == {
        "CHILD_OF": 0,
        "FOLLOWS_FROM": 1,
    }
    assert values(sampling_pb2.DESCRIPTOR.enum_types_by_name["SamplingStrategyType"]) == {
        "PROBABILISTIC": 0,
        "RATE_LIMITING": 1,
    }
    methods = {
        f"/{svc.full_name}/{m.name}"
        for f in (collector_pb2.DESCRIPTOR, sampling_pb2.DESCRIPTOR)
        for svc in f.services_by_name.values()
        for m in svc.methods
    }
    assert methods == {POST_SPANS_METHOD, GET_SAMPLING_STRATEGY_METHOD}
    assert POST_SPANS_METHOD == "/jaeger.api_v2.CollectorService/PostSpans"
    assert GET_SAMPLING_STRATEGY_METHOD == "/jaeger.api_v2.SamplingManager/GetSamplingStrategy"
