"""OTLP protobuf codec: captured SDK payloads, Jaeger's translation rules, round trips, responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.otel_translate import DecodeResult, render_json_value
from pyjaeger.codecs.otlp import decode_export_request, encode_export_response
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.model import (
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
    span_id_from_hex,
    trace_id_from_hex,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
FIXTURES = {
    "otel-otlp-grpc-1.27_ExportTraceServiceRequest.bin": ("demo-otlp-grpc", "1.27.0"),
    "otel-otlp-grpc-1.45.2_ExportTraceServiceRequest.bin": ("demo-otlp-grpc", "1.45.2"),
    "otel-otlp-http-1.27_ExportTraceServiceRequest.bin": ("demo-otlp-http", "1.27.0"),
}
STR, BOOL, INT, FLOAT, BIN = ValueType  # members in definition order
CHILD_OF, FOLLOWS_FROM = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM
TRACE = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
T_INT = int.from_bytes(TRACE, "big")


def by_name(result: DecodeResult) -> dict[str, Span]:
    return {s.operation_name: s for s in result.spans}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_captured_sdk_payload(name: str) -> None:
    service, sdk_version = FIXTURES[name]
    result = decode_export_request((CAPTURES / name).read_bytes())
    assert result.rejected == 0 and result.error_message == ""
    spans = by_name(result)
    assert sorted(spans) == ["child-1", "child-2", "root"]
    root, child1, child2 = spans["root"], spans["child-1"], spans["child-2"]

    assert len({s.trace_id for s in result.spans}) == 1
    assert root.trace_id >> 64  # a real 128-bit id
    assert root.references == []
    assert child1.references == [SpanRef(CHILD_OF, root.trace_id, root.span_id)]
    assert child2.references == [SpanRef(CHILD_OF, root.trace_id, child1.span_id)]
    assert child2.parent_span_id == child1.span_id

    process = root.process
    assert all(s.process is process for s in result.spans)  # one Process per ResourceSpans
    assert process.service_name == service
    assert process.tags[:3] == [
        KeyValue("telemetry.sdk.language", STR, "python"),
        KeyValue("telemetry.sdk.name", STR, "opentelemetry"),
        KeyValue("telemetry.sdk.version", STR, sdk_version),
    ]
    assert "service.name" not in {kv.key for kv in process.tags}

    assert root.tags == [
        KeyValue("otel.scope.name", STR, "feas"),
        KeyValue("http.method", STR, "GET"),
        KeyValue("http.status_code", INT, 200),
        KeyValue("span.kind", STR, "internal"),
    ]
    assert child2.tags == [
        KeyValue("otel.scope.name", STR, "feas"),
        KeyValue("db.system", STR, "postgresql"),
        KeyValue("span.kind", STR, "internal"),
    ]
    assert [log.fields for log in child1.logs] == [[KeyValue("event", STR, "hello"), KeyValue("n", INT, 1)]]
    assert root.start_time <= child1.start_time <= child1.logs[0].timestamp <= child2.start_time
    assert all(s.flags == 1 and s.warnings is None for s in result.spans)  # SDK flags are 0x100
    assert root.duration > child1.duration > child2.duration > 0


def test_captured_payload_exact_values() -> None:
    result = decode_export_request(
        (CAPTURES / "otel-otlp-grpc-1.27_ExportTraceServiceRequest.bin").read_bytes()
    )
    spans = by_name(result)
    trace_id = trace_id_from_hex("09758fbedea585cfbfc6ac178c4dba3d")
    assert {s.trace_id for s in result.spans} == {trace_id}
    assert spans["root"].span_id == span_id_from_hex("86351476c6ba84f7")
    assert spans["child-1"].span_id == span_id_from_hex("9045c10ac1921ec6")
    assert spans["child-2"].span_id == span_id_from_hex("324e43648219ac67")
    # start 1795490031060049792 ns, end 1795490031060159602 ns: both floored to µs.
    assert (spans["root"].start_time, spans["root"].duration) == (1795490031060049, 109)
    assert (spans["child-1"].start_time, spans["child-1"].duration) == (1795490031060100, 54)
    assert (spans["child-2"].start_time, spans["child-2"].duration) == (1795490031060133, 8)
    assert spans["child-1"].logs[0].timestamp == 1795490031060111


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_captured_payload_round_trips(name: str) -> None:
    spans = decode_export_request((CAPTURES / name).read_bytes()).spans
    assert decode_export_request(encode_export_request(spans)).spans == spans


# --- translation rules, on requests built by hand -------------------------------------------


def av(value: object) -> common_pb2.AnyValue:
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, list):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[av(v) for v in value]))
    if isinstance(value, dict):
        kvs = [common_pb2.KeyValue(key=k, value=av(v)) for k, v in value.items()]
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=kvs))
    if value is None:
        return common_pb2.AnyValue()
    return common_pb2.AnyValue(string_value=str(value))


def attrs(named: dict[str, object] | None = None, **kw: object) -> list[common_pb2.KeyValue]:
    """Attributes from `named` then keywords (where `_` stands for `.`)."""
    items = list((named or {}).items()) + [(k.replace("_", "."), v) for k, v in kw.items()]
    return [common_pb2.KeyValue(key=k, value=av(v)) for k, v in items]


def pb_span(n: int = 1, **kw: object) -> trace_pb2.Span:
    fields: dict[str, object] = {
        "trace_id": TRACE,
        "span_id": n.to_bytes(8, "big"),
        "name": "op",
        "start_time_unix_nano": 1_000_000_500,
        "end_time_unix_nano": 1_000_002_499,
    }
    fields.update(kw)
    return trace_pb2.Span(**fields)  # type: ignore[arg-type]


def request(*spans: trace_pb2.Span, resource: list[common_pb2.KeyValue] | None = None) -> bytes:
    rs = trace_pb2.ResourceSpans(scope_spans=[trace_pb2.ScopeSpans(spans=list(spans))])
    rs.resource.attributes.extend(attrs(service_name="svc") if resource is None else resource)
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()


def decode_one(span: trace_pb2.Span, **kw: list[common_pb2.KeyValue]) -> Span:
    result = decode_export_request(request(span, **kw))
    assert result.rejected == 0
    (decoded,) = result.spans
    return decoded


def test_times_floor_to_microseconds_and_never_go_negative() -> None:
    span = decode_one(pb_span())
    assert (span.start_time, span.duration) == (1_000_000, 1)  # 1999 ns is 1 µs
    backwards = decode_one(pb_span(start_time_unix_nano=5_000_000, end_time_unix_nano=4_000_000))
    assert backwards.duration == 0


def test_process_service_name_rules() -> None:
    assert decode_one(pb_span(), resource=[]).process == Process("OTLPResourceNoServiceName", [])
    no_name = decode_one(pb_span(), resource=attrs(host_name="h"))
    assert no_name.process == Process("", [KeyValue("host.name", STR, "h")])
    # Not a string: Jaeger's Str() gives "", and the attribute is still not a process tag.
    typed = decode_one(pb_span(), resource=attrs(service_name=7, host_name="h"))
    assert typed.process == Process("", [KeyValue("host.name", STR, "h")])


def test_attribute_types() -> None:
    span = decode_one(
        pb_span(
            attributes=[
                *attrs(
                    s="x", e="", b=True, i=-(2**63), f=1.5, raw=b"\x00\xff", arr=["a", 1, True], none=None
                ),
                common_pb2.KeyValue(key="map", value=av({"z": [1.5, b"\x01"], "a": {"k": None}})),
            ]
        )
    )
    assert span.tags == [
        KeyValue("s", STR, "x"),
        KeyValue("e", STR, ""),
        KeyValue("b", BOOL, True),
        KeyValue("i", INT, -(2**63)),
        KeyValue("f", FLOAT, 1.5),
        KeyValue("raw", BIN, b"\x00\xff"),
        KeyValue("arr", STR, '["a",1,true]'),
        KeyValue("none", STR, ""),
        KeyValue("map", STR, '{"a":{"k":null},"z":[1.5,"AQ=="]}'),
    ]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ([], "[]"),
        ({}, "{}"),
        (
            [2.0, -0.0, 1e21, 1e-7, 1.5e-5, 1e16, 123456789.125],
            "[2,-0,1e+21,1e-7,0.000015,10000000000000000,123456789.125]",
        ),
        (
            ["<a & b>", "\u2028", 'é\n\t"\\', "\x01"],
            r'["\u003ca \u0026 b\u003e","\u2028","é\n\t\"\\","\u0001"]',
        ),
        ({"b": 1, "a": 2, "é": 3, "B": 4}, '{"B":4,"a":2,"b":1,"é":3}'),
        ([float("nan")], ""),  # Go's json.Marshal fails, AsString gives ""
        ([b""], '[""]'),
    ],
)
def test_compound_values_render_like_go_json(raw: object, text: str) -> None:
    assert render_json_value(raw) == text


def test_kind_status_and_tracestate_tags_in_order() -> None:
    span = decode_one(
        pb_span(
            attributes=attrs(a=1),
            kind=trace_pb2.Span.SPAN_KIND_CLIENT,
            status=trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_ERROR, message="boom"),
            trace_state="k=v",
        )
    )
    assert span.tags == [
        KeyValue("a", INT, 1),
        KeyValue("span.kind", STR, "client"),
        KeyValue("otel.status_code", STR, "ERROR"),
        KeyValue("error", BOOL, True),
        KeyValue("otel.status_description", STR, "boom"),
        KeyValue("w3c.tracestate", STR, "k=v"),
    ]
    ok = decode_one(pb_span(status=trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_OK)))
    assert ok.tags == [KeyValue("otel.status_code", STR, "OK")]
    unset = decode_one(pb_span(status=trace_pb2.Status(message="m"), kind=0))
    assert unset.tags == [KeyValue("otel.status_description", STR, "m")]


def test_scope_tags() -> None:
    rs = trace_pb2.ResourceSpans(
        scope_spans=[
            trace_pb2.ScopeSpans(
                scope=common_pb2.InstrumentationScope(name="lib", version="2"), spans=[pb_span(1)]
            ),
            trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(version="3"), spans=[pb_span(2)]),
        ]
    )
    data = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()
    first, second = decode_export_request(data).spans
    assert first.tags == [KeyValue("otel.scope.name", STR, "lib"), KeyValue("otel.scope.version", STR, "2")]
    assert second.tags == [KeyValue("otel.scope.version", STR, "3")]
    assert first.process.service_name == "OTLPResourceNoServiceName"


def test_links_become_references() -> None:
    other = bytes(range(16, 32))
    other_int = int.from_bytes(other, "big")
    span = decode_one(
        pb_span(
            parent_span_id=(7).to_bytes(8, "big"),
            links=[
                trace_pb2.Span.Link(trace_id=other, span_id=(8).to_bytes(8, "big")),
                trace_pb2.Span.Link(
                    trace_id=other,
                    span_id=(9).to_bytes(8, "big"),
                    attributes=attrs({"opentracing.ref_type": "child_of"}),
                ),
                # The parent again: not duplicated, it only sets the parent reference's type.
                trace_pb2.Span.Link(
                    trace_id=TRACE,
                    span_id=(7).to_bytes(8, "big"),
                    attributes=attrs({"opentracing.ref_type": "x"}),
                ),
            ],
        )
    )
    assert span.references == [
        SpanRef(FOLLOWS_FROM, T_INT, 7),
        SpanRef(FOLLOWS_FROM, other_int, 8),
        SpanRef(CHILD_OF, other_int, 9),
    ]


def test_events_become_logs() -> None:
    span = decode_one(
        pb_span(
            events=[
                trace_pb2.Span.Event(time_unix_nano=3_000_999, name="hit", attributes=attrs(n=1)),
                trace_pb2.Span.Event(
                    time_unix_nano=4_000_000, name="named", attributes=attrs(x=1, event="own")
                ),
                trace_pb2.Span.Event(time_unix_nano=5_000_000, attributes=attrs(x=[1])),
            ]
        )
    )
    assert span.logs == [
        Log(3_000, [KeyValue("event", STR, "hit"), KeyValue("n", INT, 1)]),
        Log(4_000, [KeyValue("x", INT, 1), KeyValue("event", STR, "own")]),
        Log(5_000, [KeyValue("x", STR, "[1]")]),
    ]


def test_flags_are_always_sampled() -> None:
    assert decode_one(pb_span(flags=0)).flags == 1
    assert decode_one(pb_span(flags=0x301)).flags == 1


def test_spans_with_invalid_ids_are_rejected_and_the_rest_kept() -> None:
    data = request(
        pb_span(1),
        pb_span(2, trace_id=TRACE[:8]),
        pb_span(3, trace_id=bytes(16)),
        pb_span(4, span_id=b"\x01\x02\x03\x04"),
        pb_span(5, span_id=bytes(8)),
        pb_span(6, trace_id=b""),
        pb_span(7),
    )
    result = decode_export_request(data)
    assert [s.span_id for s in result.spans] == [1, 7]
    assert result.rejected == 5
    first = "resource_spans[0].scope_spans[0].spans[1]: trace_id must be 16 bytes, got 8"
    assert result.error_message == f"5 span(s) rejected; first: {first}"


def test_bad_parent_or_link_ids_warn_and_drop_the_reference() -> None:
    span = decode_one(
        pb_span(
            parent_span_id=b"\x01\x02", links=[trace_pb2.Span.Link(trace_id=TRACE[:4], span_id=b"\x01" * 8)]
        )
    )
    assert span.references == []
    assert span.warnings == [
        "invalid parent_span_id (2 bytes) dropped",
        "link 0: invalid trace_id/span_id length, link dropped",
    ]
    assert decode_one(pb_span(parent_span_id=bytes(8))).references == []  # zero means no parent


def test_64_bit_trace_id() -> None:
    span = decode_one(pb_span(trace_id=bytes(8) + b"\x00\x00\x00\x00\x00\x00\x00\x2a"))
    assert span.trace_id == 42


@pytest.mark.parametrize("data", [b"\xff", b"\x0a\x05\x01", b"\x0a\xff\xff\xff\xff\x0f", b"\x0b"])
def test_undecodable_bytes_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError, match="ExportTraceServiceRequest"):
        decode_export_request(data)


def test_empty_request() -> None:
    assert decode_export_request(b"") == DecodeResult([])


# --- model -> OTLP -> model -----------------------------------------------------------------


def rich_spans() -> list[Span]:
    """Canonical-form spans (tags in decode's order, parent reference first) with every feature."""
    big = 0xFEDCBA9876543210_0123456789ABCDEF
    small = 0x00000000_00000001_FFFFFFFFFFFFFFFF
    p1 = Process(
        "frontend", [KeyValue("host.name", STR, "h1"), KeyValue("cpus", INT, 8), KeyValue("up", BOOL, True)]
    )
    p2 = Process("OTLPResourceNoServiceName", [])
    p3 = Process("", [KeyValue("pi", FLOAT, 3.25)])
    all_types = [
        KeyValue("otel.scope.name", STR, "lib"),
        KeyValue("otel.scope.version", STR, "1.0"),
        KeyValue("s", STR, "string"),
        KeyValue("empty", STR, ""),
        KeyValue("b", BOOL, False),
        KeyValue("i", INT, -(2**63)),
        KeyValue("i_max", INT, 2**63 - 1),
        KeyValue("f", FLOAT, -0.5e-300),
        KeyValue("bin", BIN, b"\x00\x01\xfe"),
        KeyValue("span.kind", STR, "server"),
        KeyValue("otel.status_code", STR, "ERROR"),
        KeyValue("error", BOOL, True),
        KeyValue("otel.status_description", STR, "it broke"),
        KeyValue("w3c.tracestate", STR, "vendor=1"),
    ]
    logs = [
        Log(1_700_000_000_000_100, [KeyValue("event", STR, "hello"), KeyValue("n", INT, 1)]),
        Log(1_700_000_000_000_200, [KeyValue("n", INT, 2), KeyValue("event", STR, "late")]),
        Log(1_700_000_000_000_300, [KeyValue("event", INT, 3)]),
        Log(1_700_000_000_000_400, []),
        Log(1_700_000_000_000_500, [KeyValue("event", STR, "")]),
    ]
    start = 1_700_000_000_000_000
    return [
        Span(big, 1, "root", [], 1, start, 1000, all_types, logs, p1),
        Span(
            big,
            2,
            "child",
            [SpanRef(CHILD_OF, big, 1), SpanRef(FOLLOWS_FROM, small, 5), SpanRef(CHILD_OF, big, 3)],
            1,
            start + 10,
            0,
            [KeyValue("otel.scope.name", STR, "lib"), KeyValue("otel.scope.version", STR, "1.0")],
            [],
            p1,
        ),
        Span(big, 3, "follows", [SpanRef(FOLLOWS_FROM, big, 1)], 1, start, 5, [], [], p1),
        Span(
            small,
            2**64 - 1,
            "ok-consumer",
            [],
            1,
            0,
            2**40,
            [
                KeyValue("otel.scope.version", STR, "only-version"),
                KeyValue("span.kind", STR, "consumer"),
                KeyValue("otel.status_code", STR, "OK"),
            ],
            [],
            p2,
        ),
        *(
            Span(small, n, kind, [], 1, start, 1, [KeyValue("span.kind", STR, kind)], [], p3)
            for n, kind in enumerate(["internal", "client", "producer"], start=10)
        ),
        Span(
            small,
            20,
            "description-only",
            [],
            1,
            start,
            1,
            [KeyValue("otel.status_description", STR, "d")],
            [],
            p3,
        ),
    ]


def test_round_trip_model_to_otlp_and_back() -> None:
    spans = rich_spans()
    data = encode_export_request(spans)
    assert decode_export_request(data) == DecodeResult(spans)


def test_encoded_request_groups_resources_and_scopes() -> None:
    req = trace_service_pb2.ExportTraceServiceRequest()
    req.ParseFromString(encode_export_request(rich_spans()))
    assert len(req.resource_spans) == 3
    first = req.resource_spans[0]
    assert [(kv.key, kv.value.string_value) for kv in first.resource.attributes][:2] == [
        ("service.name", "frontend"),
        ("host.name", "h1"),
    ]
    assert [(ss.scope.name, ss.scope.version, len(ss.spans)) for ss in first.scope_spans] == [
        ("lib", "1.0", 2),
        ("", "", 1),
    ]
    root = first.scope_spans[0].spans[0]
    assert root.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert (root.status.code, root.status.message) == (trace_pb2.Status.STATUS_CODE_ERROR, "it broke")
    assert root.trace_state == "vendor=1"
    assert root.flags == 1
    assert [(e.name, len(e.attributes)) for e in root.events] == [
        ("hello", 1),
        ("late", 2),
        ("", 1),
        ("", 0),
        ("", 1),
    ]
    child = first.scope_spans[0].spans[1]
    assert child.parent_span_id == (1).to_bytes(8, "big")
    assert [(link.span_id[-1], link.attributes[0].value.string_value) for link in child.links] == [
        (5, "follows_from"),
        (3, "child_of"),
    ]
    assert not req.resource_spans[1].resource.attributes  # OTLPResourceNoServiceName


def test_error_tag_alone_sets_error_status() -> None:
    span = Span(T_INT, 1, "op", [], 1, 0, 0, [KeyValue("error", BOOL, True)], [], Process("svc"))
    (decoded,) = decode_export_request(encode_export_request([span])).spans
    assert decoded.tags == [KeyValue("otel.status_code", STR, "ERROR"), KeyValue("error", BOOL, True)]


# --- responses --------------------------------------------------------------------------------


def test_export_response() -> None:
    assert encode_export_response() == b""
    resp = trace_service_pb2.ExportTraceServiceResponse()
    resp.ParseFromString(encode_export_response(3, "bad ids"))
    assert resp.HasField("partial_success")
    assert (resp.partial_success.rejected_spans, resp.partial_success.error_message) == (3, "bad ids")
    resp.ParseFromString(encode_export_response(0, "warning only"))
    assert resp.partial_success.error_message == "warning only"
