"""Model → OTLP (`otlp_encode`) → OTLP/JSON (`otlp_json_encode`): the JSON api_v3 answers with.

The JSON is checked against the rules of the pdata marshaller Jaeger uses (jaeger-contracts.md
§2.5, §2.7): exact bytes for a message with every field set, Jaeger's own GetTrace snapshot,
protobuf's JSON mapping for everything but ids, and our OTLP/JSON decoder reading it back.
"""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_encode import (
    encode_export_request,
    export_request,
    span_status_code,
    traces_data,
    unix_nano,
)
from pyjaeger.codecs.otlp_json import decode_export_json
from pyjaeger.codecs.otlp_json_encode import encode_traces_json, traces_json
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, Trace, ValueType
from pyjaeger.query.adjusters import adjust_trace

STR, BOOL, INT, FLOAT, BIN = ValueType
CHILD_OF, FOLLOWS_FROM = SpanRefType
T0 = 1_700_000_000_000_000  # µs
TID = 0x0AF7651916CD43DD8448EB211C80319C


def kv(key: str, value: Any) -> KeyValue:
    types = {str: STR, bool: BOOL, int: INT, float: FLOAT, bytes: BIN}
    return KeyValue(key, types[type(value)], value)


def model_spans() -> list[Span]:
    """Two resources, two scopes, every tag type, status, kind, logs, a parent and links."""
    proc = Process("frontend", [kv("host.name", "h1"), kv("cpus", 8)])
    other = Process("backend", [])
    return [
        Span(
            TID,
            0xA,
            "GET /",
            [],
            1,
            T0,
            2_000,
            [
                kv("otel.scope.name", "lib"),
                kv("otel.scope.version", "1.2"),
                kv("s", "text"),
                kv("b", True),
                kv("i", -(2**63)),
                kv("d", 0.25),
                kv("whole", 3.0),
                kv("bin", b"\x00\xff"),
                kv("arr", '["a",1]'),
                kv("span.kind", "server"),
                kv("w3c.tracestate", "k=v"),
            ],
            [Log(T0 + 5, [kv("event", "cache miss"), kv("n", 1)])],
            proc,
        ),
        Span(
            TID,
            0xB,
            "query",
            [SpanRef(CHILD_OF, TID, 0xA), SpanRef(FOLLOWS_FROM, 7, 8)],
            1,
            T0 + 10,
            500,
            [
                kv("span.kind", "client"),
                kv("otel.status_code", "ERROR"),
                kv("error", True),
                kv("otel.status_description", "boom"),
            ],
            [],
            other,
        ),
    ]


# --- the JSON writer -----------------------------------------------------------------------------


def test_jaeger_get_trace_snapshot() -> None:
    """Jaeger's `apiv3/snapshots/GetTrace.json`: a server span with an error status, no resource
    attributes, no scope, no times: empty resource, scope and defaults as pdata writes them."""
    no_attributes = Process("OTLPResourceNoServiceName", [])
    span = Span(
        1, 2, "foobar", [], 0, 0, 0, [kv("span.kind", "server"), kv("error", True)], [], no_attributes
    )
    out = encode_traces_json(traces_data([[span]]))
    assert out == (
        b'{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{'
        b'"traceId":"00000000000000000000000000000001","spanId":"0000000000000002",'
        b'"name":"foobar","kind":2,"status":{"code":2}}]}]}]}'
    )


def every_field_message() -> Any:
    data = trace_pb2.TracesData()
    rs = data.resource_spans.add()
    rs.schema_url = "https://schema/r"
    rs.resource.dropped_attributes_count = 3
    a = rs.resource.attributes.add()
    a.key = "service.name"
    a.value.string_value = "svc"
    ref = rs.resource.entity_refs.add()
    ref.type = "service"
    ref.id_keys.append("service.name")
    ss = rs.scope_spans.add()
    ss.schema_url = "https://schema/s"
    ss.scope.name = "lib"
    ss.scope.version = "1"
    ss.scope.dropped_attributes_count = 1
    a = ss.scope.attributes.add()
    a.key = "scope.attr"
    a.value.bool_value = False
    sp = ss.spans.add()
    sp.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    sp.span_id = bytes.fromhex("b7ad6b7169203331")
    sp.trace_state = "k=v"
    sp.parent_span_id = bytes.fromhex("00f067aa0ba902b7")
    sp.flags = 0x301
    sp.name = "op"
    sp.kind = trace_pb2.Span.SPAN_KIND_CONSUMER
    sp.start_time_unix_nano = 2**64 - 1
    sp.end_time_unix_nano = 1
    values: list[tuple[str, Any]] = [
        ("s", common_pb2.AnyValue(string_value='x<&>\u2028"\n')),
        ("empty", common_pb2.AnyValue(string_value="")),
        ("t", common_pb2.AnyValue(bool_value=True)),
        ("i", common_pb2.AnyValue(int_value=-(2**63))),
        ("d", common_pb2.AnyValue(double_value=1.0)),
        ("nan", common_pb2.AnyValue(double_value=math.nan)),
        ("bin", common_pb2.AnyValue(bytes_value=b"\x00\x01\xfe")),
        ("nobin", common_pb2.AnyValue(bytes_value=b"")),
        (
            "arr",
            common_pb2.AnyValue(
                array_value=common_pb2.ArrayValue(
                    values=[common_pb2.AnyValue(int_value=1), common_pb2.AnyValue(string_value="a")]
                )
            ),
        ),
        ("noarr", common_pb2.AnyValue(array_value=common_pb2.ArrayValue())),
        (
            "map",
            common_pb2.AnyValue(
                kvlist_value=common_pb2.KeyValueList(
                    values=[common_pb2.KeyValue(key="k", value=common_pb2.AnyValue(double_value=-2.5))]
                )
            ),
        ),
        ("unset", common_pb2.AnyValue()),
        ("", common_pb2.AnyValue(string_value="no key")),
    ]
    for key, value in values:
        sp.attributes.add(key=key, value=value)
    sp.dropped_attributes_count = 4
    ev = sp.events.add()
    ev.time_unix_nano = 5
    ev.name = "ev"
    ev.attributes.add(key="n", value=common_pb2.AnyValue(int_value=1))
    ev.dropped_attributes_count = 1
    sp.events.add()  # all defaults
    sp.dropped_events_count = 6
    link = sp.links.add()
    link.trace_id = bytes(16)  # all zero: left out
    link.span_id = bytes.fromhex("0000000000000001")
    link.trace_state = "l=1"
    link.attributes.add(key="opentracing.ref_type", value=common_pb2.AnyValue(string_value="follows_from"))
    link.dropped_attributes_count = 2
    link.flags = 1
    sp.dropped_links_count = 7
    sp.status.message = "bad"
    sp.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    return data


def test_every_field_as_pdata_writes_it() -> None:
    expected = (
        '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}],'
        '"droppedAttributesCount":3,"entityRefs":[{"type":"service","idKeys":["service.name"]}]},'
        '"scopeSpans":[{"scope":{"name":"lib","version":"1","attributes":[{"key":"scope.attr",'
        '"value":{"boolValue":false}}],"droppedAttributesCount":1},"spans":[{'
        '"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","traceState":"k=v",'
        '"parentSpanId":"00f067aa0ba902b7","flags":769,"name":"op","kind":5,'
        '"startTimeUnixNano":"18446744073709551615","endTimeUnixNano":"1","attributes":['
        '{"key":"s","value":{"stringValue":"x<&>\u2028\\"\\n"}},'
        '{"key":"empty","value":{"stringValue":""}},'
        '{"key":"t","value":{"boolValue":true}},'
        '{"key":"i","value":{"intValue":"-9223372036854775808"}},'
        '{"key":"d","value":{"doubleValue":1}},'
        '{"key":"nan","value":{"doubleValue":"NaN"}},'
        '{"key":"bin","value":{"bytesValue":"AAH+"}},'
        '{"key":"nobin","value":{"bytesValue":""}},'
        '{"key":"arr","value":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"a"}]}}},'
        '{"key":"noarr","value":{"arrayValue":{}}},'
        '{"key":"map","value":{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":-2.5}}]}}},'
        '{"key":"unset","value":{}},'
        '{"value":{"stringValue":"no key"}}],'
        '"droppedAttributesCount":4,"events":[{"timeUnixNano":"5","name":"ev","attributes":['
        '{"key":"n","value":{"intValue":"1"}}],"droppedAttributesCount":1},{}],"droppedEventsCount":6,'
        '"links":[{"spanId":"0000000000000001","traceState":"l=1","attributes":[{"key":"opentracing.ref_type",'
        '"value":{"stringValue":"follows_from"}}],"droppedAttributesCount":2,"flags":1}],'
        '"droppedLinksCount":7,"status":{"message":"bad","code":2}}],"schemaUrl":"https://schema/s"}],'
        '"schemaUrl":"https://schema/r"}]}'
    )
    assert encode_traces_json(every_field_message()).decode() == expected


def test_defaults_are_left_out_but_value_messages_are_written() -> None:
    assert encode_traces_json(trace_pb2.TracesData()) == b"{}"
    data = trace_pb2.TracesData()
    data.resource_spans.add().scope_spans.add().spans.add()
    assert (
        encode_traces_json(data)
        == b'{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"status":{}}]}]}]}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.25, "0.25"),
        (-0.0, "-0"),
        (123456789.0, "123456789"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (0.1 + 0.2, "0.30000000000000004"),
        (math.inf, '"Infinity"'),
        (-math.inf, '"-Infinity"'),
        (math.nan, '"NaN"'),
    ],
)
def test_doubles_as_go_writes_them(value: float, text: str) -> None:
    data = trace_pb2.TracesData()
    sp = data.resource_spans.add().scope_spans.add().spans.add()
    sp.attributes.add(key="d", value=common_pb2.AnyValue(double_value=value))
    out = encode_traces_json(data).decode()
    assert f'{{"key":"d","value":{{"doubleValue":{text}}}}}' in out


def b64_ids_to_hex(obj: Any) -> Any:
    """protobuf's JSON mapping writes bytes ids in base64; OTLP/JSON in hex."""
    if isinstance(obj, list):
        return [b64_ids_to_hex(x) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("traceId", "spanId", "parentSpanId"):
                out[k] = base64.b64decode(v).hex()
            else:
                out[k] = b64_ids_to_hex(v)
        return out
    return obj


def test_matches_protobufs_json_mapping_but_for_ids() -> None:
    message = traces_data([model_spans()])
    mapped = json_format.MessageToDict(message, use_integers_for_enums=True)
    assert json.loads(encode_traces_json(message)) == b64_ids_to_hex(mapped)


def test_our_otlp_json_decoder_reads_it_back() -> None:
    spans = model_spans()
    via_json = decode_export_json(encode_traces_json(export_request(spans)))
    via_proto = decode_export_request(encode_export_request(spans))
    assert via_json.spans == via_proto.spans == spans


def test_traces_json_embeds() -> None:
    message = traces_data([model_spans()])
    assert (
        orjson.dumps({"result": traces_json(message)}) == b'{"result":' + encode_traces_json(message) + b"}"
    )


def test_ten_thousand_spans() -> None:
    proc = Process("svc", [kv("host.name", "h")])
    tags = [
        kv("otel.scope.name", "lib"),
        kv("http.method", "GET"),
        kv("n", 200),
        kv("r", 0.5),
        kv("span.kind", "server"),
    ]
    spans = [
        Span(
            TID, i + 1, f"op{i % 20}", [SpanRef(CHILD_OF, TID, i)] if i else [], 1, T0 + i, 10, tags, [], proc
        )
        for i in range(10_000)
    ]
    started = time.perf_counter()
    doc = orjson.loads(encode_traces_json(traces_data([spans])))
    elapsed = time.perf_counter() - started
    (scope_spans,) = doc["resourceSpans"][0]["scopeSpans"]
    assert len(scope_spans["spans"]) == 10_000
    assert scope_spans["spans"][-1]["spanId"] == f"{10_000:016x}"
    # About 0.25 s on one core; a bound far above it, to catch a quadratic turn.
    assert elapsed < 10, elapsed


# --- the OTLP message (otlp_encode) ------------------------------------------------------------


def proto_spans(spans: list[Span]) -> list[Any]:
    return [sp for rs in export_request(spans).resource_spans for ss in rs.scope_spans for sp in ss.spans]


def test_scope_tags_wherever_they_are() -> None:
    """Adjusters sort tags: the scope still comes from them, and they leave the attributes."""
    sorted_tags = [kv("a", 1), kv("otel.scope.name", "lib"), kv("otel.scope.version", "2"), kv("z", "x")]
    old = [kv("otel.library.name", "old"), kv("otel.library.version", "0.1")]
    both = [kv("otel.library.name", "old"), kv("otel.scope.name", "new")]
    not_a_string = [kv("otel.scope.name", 5)]
    spans = [
        Span(TID, n, "op", [], 1, T0, 1, tags, [], Process("svc"))
        for n, tags in enumerate([sorted_tags, old, both, not_a_string], start=1)
    ]
    req = export_request(spans)
    scopes = {
        (ss.scope.name, ss.scope.version): [[a.key for a in sp.attributes] for sp in ss.spans]
        for ss in req.resource_spans[0].scope_spans
    }
    assert scopes == {
        ("lib", "2"): [["a", "z"]],
        ("old", "0.1"): [[]],
        ("new", ""): [["otel.library.name"]],
        ("", ""): [["otel.scope.name"]],
    }


def test_adjusted_trace_encodes_like_the_raw_one_up_to_attribute_order() -> None:
    spans = model_spans()
    raw = proto_spans(spans)
    adjusted = proto_spans(adjust_trace(Trace(spans)).spans)

    def canonical(sp: Any) -> Any:
        d = json_format.MessageToDict(sp)
        d["attributes"] = sorted(d.get("attributes", []), key=lambda a: a["key"])
        return d

    assert [canonical(s) for s in adjusted] == [canonical(s) for s in raw]
    assert [a.key for a in adjusted[0].attributes] != [a.key for a in raw[0].attributes]  # it did sort


def test_status_code_and_times() -> None:
    spans = model_spans()
    assert [span_status_code(s) for s in spans] == [0, 2]
    assert [s.status.code for s in proto_spans(spans)] == [0, 2]
    ok = Span(1, 1, "op", [], 1, 0, 0, [kv("otel.status_code", "ok")], [], Process("s"))
    string_error = Span(1, 2, "op", [], 1, 0, 0, [kv("error", "true")], [], Process("s"))
    ok_but_error = Span(
        1, 3, "op", [], 1, 0, 0, [kv("otel.status_code", "OK"), kv("error", True)], [], Process("s")
    )
    assert [span_status_code(s) for s in (ok, string_error, ok_but_error)] == [1, 0, 2]
    # OTLP's unsigned nanoseconds hold 1970..2554; the model's years 1..9999 are clamped.
    assert unix_nano(-1) == 0
    assert unix_nano(253402300799_000_000) == 2**64 - 1
    early = Span(1, 4, "op", [], 1, -5_000_000, 10_000_000, [], [], Process("s"))
    (sp,) = proto_spans([early])
    assert (sp.start_time_unix_nano, sp.end_time_unix_nano) == (0, 5_000_000_000)


def test_each_trace_gets_its_own_resources() -> None:
    """Jaeger's api_v3 appends every trace's ResourceSpans; one request groups all spans."""
    proc = Process("svc")
    a = Span(1, 1, "a", [], 1, T0, 1, [], [], proc)
    b = Span(2, 2, "b", [], 1, T0, 1, [], [], proc)
    assert len(traces_data([[a], [b]]).resource_spans) == 2
    assert len(export_request([a, b]).resource_spans) == 1
