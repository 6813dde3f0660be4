"""OTLP/JSON codec: equal to the protobuf codec on the captures, JSON spellings, errors, responses."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_json import decode_export_json, encode_export_response_json
from pyjaeger.model import KeyValue, Log, Process, SpanRef, SpanRefType, ValueType

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
CAPTURE_NAMES = sorted(p.name for p in CAPTURES.glob("otel-otlp-*.bin"))
STR, BOOL, INT, FLOAT, BIN = ValueType  # members in definition order
TRACE_HEX = "0102030405060708090a0b0c0d0e0f10"
TRACE = int(TRACE_HEX, 16)
INT64_KEYS = {"startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "intValue"}


def otlp_json(
    proto: bytes, *, snake: bool = False, numbers: bool = False, upper: bool = False
) -> dict[str, Any]:
    """The OTLP/JSON form of a protobuf request: protobuf's JSON mapping with hex ids (test only)."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    req.ParseFromString(proto)
    doc = json_format.MessageToDict(req, preserving_proto_field_name=snake, use_integers_for_enums=True)

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"):
                value = base64.b64decode(value).hex()
                value = value.upper() if upper else value
            elif numbers and key in INT64_KEYS | {
                "start_time_unix_nano",
                "end_time_unix_nano",
                "time_unix_nano",
            }:
                value = int(value)
            out[key] = fix(value)
        return out

    result: dict[str, Any] = fix(doc)
    return result


def body(doc: object) -> bytes:
    return orjson.dumps(doc)


@pytest.mark.parametrize("name", CAPTURE_NAMES)
@pytest.mark.parametrize(
    "spelling",
    [
        {},
        {"snake": True},
        {"numbers": True},
        {"upper": True},
        {"snake": True, "numbers": True, "upper": True},
    ],
)
def test_json_decodes_like_protobuf(name: str, spelling: dict[str, bool]) -> None:
    proto = (CAPTURES / name).read_bytes()
    expected = decode_export_request(proto)
    got = decode_export_json(body(otlp_json(proto, **spelling)))
    assert got == expected
    assert len(got.spans) == 3 and got.spans[0].process.service_name.startswith("demo-otlp-")
    assert all(s.process is got.spans[0].process for s in got.spans)


def test_capture_json_is_spec_shaped() -> None:
    doc = otlp_json((CAPTURES / CAPTURE_NAMES[0]).read_bytes())
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and isinstance(span["startTimeUnixNano"], str) and span["kind"] == 1


def one_span(**fields: object) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": TRACE_HEX,
        "spanId": "0000000000000001",
        "name": "op",
        "startTimeUnixNano": "1000000500",
        "endTimeUnixNano": "1000002499",
    }
    span.update(fields)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [{"scope": {"name": "lib"}, "spans": [span]}],
            }
        ]
    }


def test_hand_written_span_with_every_feature() -> None:
    doc = one_span(
        parentSpanId="00000000000000AA",
        kind=3,
        traceState="k=v",
        flags=257,
        status={"code": 2, "message": "boom"},
        attributes=[
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "b", "value": {"boolValue": True}},
            {"key": "i", "value": {"intValue": "-9223372036854775808"}},
            {"key": "i2", "value": {"intValue": 42}},
            {"key": "f", "value": {"doubleValue": 1.5}},
            {"key": "f2", "value": {"doubleValue": "NaN"}},
            {"key": "f3", "value": {"doubleValue": 3}},
            {"key": "raw", "value": {"bytesValue": "AP8="}},
            {"key": "raw_url", "value": {"bytesValue": "AP-_"}},
            {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
            {
                "key": "map",
                "value": {
                    "kvlistValue": {
                        "values": [
                            {"key": "k", "value": {"intValue": "1"}},
                            {"key": "bin", "value": {"bytesValue": "AQ=="}},
                            {
                                "key": "nested",
                                "value": {"arrayValue": {"values": [{}, {"doubleValue": 2.0}]}},
                            },
                        ]
                    }
                },
            },
            {"key": "empty", "value": {}},
            {"key": "nullvalue"},
            {"key": "unknown-field", "value": {"futureValue": 1}},
        ],
        events=[
            {
                "timeUnixNano": "3000999",
                "name": "hit",
                "attributes": [{"key": "n", "value": {"intValue": "1"}}],
            },
            {
                "timeUnixNano": 4000000,
                "name": "x",
                "attributes": [{"key": "event", "value": {"stringValue": "own"}}],
            },
        ],
        links=[
            {"traceId": "ff" * 16, "spanId": "0000000000000002"},
            {
                "traceId": "ff" * 16,
                "spanId": "0000000000000003",
                "attributes": [{"key": "opentracing.ref_type", "value": {"stringValue": "child_of"}}],
            },
            {"traceId": TRACE_HEX, "spanId": "00000000000000aa", "flags": 1},
        ],
        droppedAttributesCount=3,
        somethingNew={"ignored": True},
    )
    result = decode_export_json(body(doc))
    assert result.rejected == 0
    (span,) = result.spans
    assert (span.trace_id, span.span_id, span.operation_name, span.flags) == (TRACE, 1, "op", 1)
    assert (span.start_time, span.duration) == (1_000_000, 1)
    assert span.process == Process("svc", [])
    assert span.tags[0] == KeyValue("otel.scope.name", STR, "lib")
    by_key = {kv.key: kv for kv in span.tags}
    assert by_key["b"] == KeyValue("b", BOOL, True)
    assert by_key["i"] == KeyValue("i", INT, -(2**63))
    assert by_key["i2"] == KeyValue("i2", INT, 42)
    assert by_key["f"] == KeyValue("f", FLOAT, 1.5)
    assert by_key["f2"].v_type == FLOAT and by_key["f2"].value != by_key["f2"].value
    assert by_key["f3"] == KeyValue("f3", FLOAT, 3.0) and isinstance(by_key["f3"].value, float)
    assert by_key["raw"] == KeyValue("raw", BIN, b"\x00\xff")
    assert by_key["raw_url"] == KeyValue("raw_url", BIN, b"\x00\xff\xbf")
    assert by_key["arr"] == KeyValue("arr", STR, '["a","b"]')
    assert by_key["map"] == KeyValue("map", STR, '{"bin":"AQ==","k":1,"nested":[null,2]}')
    for key in ("empty", "nullvalue", "unknown-field"):
        assert by_key[key] == KeyValue(key, STR, "")
    assert [kv.key for kv in span.tags[-5:]] == [
        "span.kind",
        "otel.status_code",
        "error",
        "otel.status_description",
        "w3c.tracestate",
    ]
    assert by_key["span.kind"].value == "client"
    assert span.logs == [
        Log(3000, [KeyValue("event", STR, "hit"), KeyValue("n", INT, 1)]),
        Log(4000, [KeyValue("event", STR, "own")]),
    ]
    other = int("ff" * 16, 16)
    assert span.references == [
        SpanRef(SpanRefType.FOLLOWS_FROM, TRACE, 0xAA),
        SpanRef(SpanRefType.FOLLOWS_FROM, other, 2),
        SpanRef(SpanRefType.CHILD_OF, other, 3),
    ]


def test_enum_names_and_nulls_are_accepted() -> None:
    doc = one_span(
        kind="SPAN_KIND_SERVER", status={"code": "STATUS_CODE_OK", "message": None}, traceState=None
    )
    (span,) = decode_export_json(body(doc)).spans
    assert [kv for kv in span.tags if kv.key != "otel.scope.name"] == [
        KeyValue("span.kind", STR, "server"),
        KeyValue("otel.status_code", STR, "OK"),
    ]


def test_resource_rules() -> None:
    doc = one_span()
    doc["resourceSpans"][0]["resource"] = {}
    assert decode_export_json(body(doc)).spans[0].process.service_name == "OTLPResourceNoServiceName"
    doc["resourceSpans"][0]["resource"] = {
        "attributes": [
            {"key": "service.name", "value": {"intValue": "1"}},
            {"key": "h", "value": {"stringValue": "x"}},
        ]
    }
    assert decode_export_json(body(doc)).spans[0].process == Process("", [KeyValue("h", STR, "x")])
    del doc["resourceSpans"][0]["resource"]
    assert decode_export_json(body(doc)).spans[0].process.service_name == "OTLPResourceNoServiceName"


def test_empty_bodies() -> None:
    assert decode_export_json(b"{}").spans == []
    assert decode_export_json(b'{"resourceSpans": []}').spans == []
    assert decode_export_json(b'{"resourceSpans": null}').spans == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"traceId": "0102"}, "traceId must be 32 hex digits, got 4"),
        ({"traceId": ""}, "traceId must be 32 hex digits, got 0"),
        ({"traceId": "0" * 32}, "traceId is all zero"),
        ({"spanId": "01"}, "spanId must be 16 hex digits, got 2"),
        ({"spanId": None}, "spanId must be 16 hex digits, got 0"),
        ({"spanId": "0" * 16}, "spanId is zero"),
    ],
)
def test_invalid_ids_are_rejected(fields: dict[str, object], problem: str) -> None:
    doc = one_span(**fields)
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"].insert(
        0, one_span()["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    )
    result = decode_export_json(body(doc))
    assert len(result.spans) == 1 and result.rejected == 1
    assert (
        result.error_message
        == f"1 span(s) rejected; first: resourceSpans[0].scopeSpans[0].spans[1]: {problem}"
    )


def test_bad_parent_id_length_is_a_warning() -> None:
    (span,) = decode_export_json(body(one_span(parentSpanId="abcd"))).spans
    assert span.references == [] and span.warnings == ["invalid parentSpanId (4 hex digits) dropped"]


SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[]", "(top level): expected an object, got a list"),
        (b'{"resourceSpans": {}}', "resourceSpans: expected a list, got an object"),
        (b'{"resourceSpans": [3]}', "resourceSpans[0]: expected an object, got int"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [[]]}]}]}', f"{SPAN}: expected an object"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}',
            "resourceSpans[0].scopeSpans[0].spans: expected a list",
        ),
        (
            b'{"resourceSpans": [{"resource": []}]}',
            "resourceSpans[0].resource: expected an object, got a list",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"scope": {"name": 1}}]}]}',
            "resourceSpans[0].scopeSpans[0].scope.name",
        ),
    ],
)
def test_broken_structure_raises_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_export_json(data)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"traceId": "zz" * 16}, f"{SPAN}.traceId: not a hex string: 'zzzz"),
        ({"traceId": "AQIDBAUGBwgJCgsMDQ4PEA=="}, f"{SPAN}.traceId: not a hex string"),  # base64, not hex
        ({"spanId": 1}, f"{SPAN}.spanId: expected a hex string, got int"),
        ({"startTimeUnixNano": "soon"}, f"{SPAN}.startTimeUnixNano: expected an integer, got string 'soon'"),
        ({"endTimeUnixNano": "-1"}, f"{SPAN}.endTimeUnixNano: integer -1 out of range"),
        ({"name": 5}, f"{SPAN}.name: expected a string, got int"),
        ({"kind": "SERVER"}, f"{SPAN}.kind: expected an enum number, got string 'SERVER'"),
        ({"status": []}, f"{SPAN}.status: expected an object, got a list"),
        ({"attributes": {}}, f"{SPAN}.attributes: expected a list, got an object"),
        ({"attributes": [1]}, f"{SPAN}.attributes[0]: expected an object"),
        ({"attributes": [{"key": 1}]}, f"{SPAN}.attributes[0].key: expected a string, got int"),
        (
            {"attributes": [{"key": "k", "value": []}]},
            f"{SPAN}.attributes[0].value: expected an AnyValue object",
        ),
        (
            {"attributes": [{"key": "k", "value": {"intValue": "1.5"}}]},
            f"{SPAN}.attributes[0].value.intValue",
        ),
        ({"attributes": [{"key": "k", "value": {"intValue": "9223372036854775808"}}]}, "out of range"),
        (
            {"attributes": [{"key": "k", "value": {"boolValue": "true"}}]},
            "value.boolValue: expected true or false",
        ),
        (
            {"attributes": [{"key": "k", "value": {"doubleValue": "inf"}}]},
            "value.doubleValue: expected a number",
        ),
        ({"attributes": [{"key": "k", "value": {"bytesValue": "!!"}}]}, "value.bytesValue: not valid base64"),
        (
            {"attributes": [{"key": "k", "value": {"arrayValue": {"values": [{"intValue": "x"}]}}}]},
            f"{SPAN}.attributes[0].value.arrayValue.values[0].intValue: expected an integer",
        ),
        (
            {"events": [{"timeUnixNano": []}]},
            f"{SPAN}.events[0].timeUnixNano: expected an integer, got a list",
        ),
        ({"events": [{"attributes": [{"key": "k", "value": 1}]}]}, f"{SPAN}.events[0].attributes[0].value"),
        ({"links": [{"traceId": "xyz"}]}, f"{SPAN}.links[0].traceId: not a hex string"),
        ({"links": "none"}, f"{SPAN}.links: expected a list"),
        ({"flags": "x"}, f"{SPAN}.flags: expected an integer"),
    ],
)
def test_broken_span_fields_name_their_path(fields: dict[str, object], message: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_export_json(body(one_span(**fields)))
    assert message in str(info.value)


def nested_arrays(depth: int) -> bytes:
    value = '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth
    doc = body(one_span(attributes=[{"key": "deep", "value": {"stringValue": "placeholder"}}]))
    return doc.replace(b'{"stringValue":"placeholder"}', value.encode())


def test_deep_nesting() -> None:
    # Three JSON levels per AnyValue: 330 fit orjson's nesting limit of 1024, 400 do not.
    (span,) = decode_export_json(nested_arrays(330)).spans
    assert span.tags[1].value == "[" * 330 + '"x"' + "]" * 330
    with pytest.raises(DecodeError, match="invalid JSON"):
        decode_export_json(nested_arrays(400))


def test_export_response_json() -> None:
    assert encode_export_response_json() == b"{}"
    assert orjson.loads(encode_export_response_json(2, "bad ids")) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "bad ids"}
    }
    assert orjson.loads(encode_export_response_json(0, "just a warning")) == {
        "partialSuccess": {"errorMessage": "just a warning"}
    }
