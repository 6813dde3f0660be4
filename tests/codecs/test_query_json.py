from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from pyjaeger.codecs.query_json import dumps, envelope, error_body, trace_to_dict
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, Trace, ValueType

T0 = 1485467191639875  # 2017-01-26T16:46:31.639875139-05:00 in µs, as in Jaeger's fixtures


def s(key: str, value: str) -> KeyValue:
    return KeyValue(key, ValueType.STRING, value)


def span(
    span_id: int,
    process: Process,
    *,
    trace_id: int = 1,
    op: str = "op",
    refs: list[SpanRef] | None = None,
    flags: int = 0,
    duration: int = 5,
    tags: list[KeyValue] | None = None,
    logs: list[Log] | None = None,
    warnings: list[str] | None = None,
) -> Span:
    return Span(
        trace_id, span_id, op, refs or [], flags, T0, duration, tags or [], logs or [], process, warnings
    )


# Jaeger v1.76 internal/uimodel/converter/v1/json/fixtures/ui_01.json (expected output of
# FromDomain for fixtures/domain_01.json, built below).
UI_01: dict[str, Any] = {
    "traceID": "0000000000000001",
    "spans": [
        {
            "traceID": "0000000000000001",
            "spanID": "0000000000000002",
            "operationName": "test-general-conversion",
            "references": [],
            "startTime": 1485467191639875,
            "duration": 5,
            "tags": [],
            "logs": [
                {
                    "timestamp": 1485467191639875,
                    "fields": [{"key": "event", "type": "string", "value": "some-event"}],
                },
                {"timestamp": 1485467191639875, "fields": [{"key": "x", "type": "string", "value": "y"}]},
            ],
            "processID": "p1",
            "warnings": None,
        },
        {
            "traceID": "0000000000000001",
            "spanID": "0000000000000002",
            "operationName": "some-operation",
            "references": [],
            "startTime": 1485467191639875,
            "duration": 5,
            "tags": [
                {"key": "peer.service", "type": "string", "value": "service-y"},
                {"key": "peer.ipv4", "type": "int64", "value": 23456},
                {"key": "error", "type": "bool", "value": True},
                {"key": "temperature", "type": "float64", "value": 72.5},
                {"key": "javascript_limit", "type": "int64", "value": "9223372036854775222"},
                {"key": "blob", "type": "binary", "value": "AAAwOQ=="},
            ],
            "logs": [],
            "processID": "p1",
            "warnings": None,
        },
        {
            "traceID": "0000000000000001",
            "spanID": "0000000000000003",
            "operationName": "some-operation",
            "references": [
                {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000002"}
            ],
            "startTime": 1485467191639875,
            "duration": 5,
            "tags": [],
            "logs": [],
            "processID": "p2",
            "warnings": None,
        },
        {
            "traceID": "0000000000000001",
            "spanID": "0000000000000004",
            "operationName": "reference-test",
            "references": [
                {"refType": "CHILD_OF", "traceID": "00000000000000ff", "spanID": "00000000000000ff"},
                {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000002"},
                {"refType": "FOLLOWS_FROM", "traceID": "0000000000000001", "spanID": "0000000000000002"},
            ],
            "startTime": 1485467191639875,
            "duration": 5,
            "tags": [],
            "logs": [],
            "processID": "p2",
            "warnings": ["some span warning"],
        },
        {
            "traceID": "0000000000000001",
            "spanID": "0000000000000005",
            "operationName": "preserveParentID-test",
            "references": [
                {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000004"}
            ],
            "startTime": 1485467191639875,
            "duration": 4,
            "tags": [],
            "logs": [],
            "processID": "p2",
            "warnings": ["some span warning"],
        },
    ],
    "processes": {
        "p1": {"serviceName": "service-x", "tags": []},
        "p2": {"serviceName": "service-y", "tags": []},
    },
    "warnings": ["some trace warning"],
}


def domain_01() -> Trace:
    """Jaeger's fixtures/domain_01.json as model objects. Each span there has its own process
    object; equal ones must still share a processID."""
    child_of, follows = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM
    return Trace(
        [
            span(
                2,
                Process("service-x"),
                op="test-general-conversion",
                logs=[Log(T0, [s("event", "some-event")]), Log(T0, [s("x", "y")])],
            ),
            span(
                2,
                Process("service-x"),
                op="some-operation",
                tags=[
                    s("peer.service", "service-y"),
                    KeyValue("peer.ipv4", ValueType.INT64, 23456),
                    KeyValue("error", ValueType.BOOL, True),
                    KeyValue("temperature", ValueType.FLOAT64, 72.5),
                    KeyValue("javascript_limit", ValueType.INT64, 9223372036854775222),
                    KeyValue("blob", ValueType.BINARY, b"\x00\x00\x30\x39"),
                ],
            ),
            span(3, Process("service-y"), op="some-operation", refs=[SpanRef(child_of, 1, 2)]),
            span(
                4,
                Process("service-y"),
                op="reference-test",
                refs=[SpanRef(child_of, 0xFF, 0xFF), SpanRef(child_of, 1, 2), SpanRef(follows, 1, 2)],
                warnings=["some span warning"],
            ),
            span(
                5,
                Process("service-y"),
                op="preserveParentID-test",
                refs=[SpanRef(child_of, 1, 4)],
                duration=4,
                warnings=["some span warning"],
            ),
        ],
        warnings=["some trace warning"],
    )


def test_jaeger_fixture_ui_01() -> None:
    out = trace_to_dict(domain_01())
    assert out == UI_01
    # Key order is part of the contract too (Jaeger's struct field order).
    assert orjson.loads(dumps(out)) == UI_01
    assert list(out) == ["traceID", "spans", "processes", "warnings"]
    assert list(out["spans"][0]) == [
        "traceID",
        "spanID",
        "operationName",
        "references",
        "startTime",
        "duration",
        "tags",
        "logs",
        "processID",
        "warnings",
    ]


def test_span_bytes_exact() -> None:
    p = Process("svc", [s("hostname", "h1")])
    trace = Trace(
        [
            span(
                0xA,
                p,
                trace_id=0xABC,
                flags=1,
                refs=[SpanRef(SpanRefType.FOLLOWS_FROM, 0xABC, 0xB)],
                tags=[KeyValue("n", ValueType.INT64, -5)],
            )
        ]
    )
    assert dumps(trace_to_dict(trace)) == (
        b'{"traceID":"0000000000000abc","spans":[{"traceID":"0000000000000abc",'
        b'"spanID":"000000000000000a","flags":1,"operationName":"op","references":'
        b'[{"refType":"FOLLOWS_FROM","traceID":"0000000000000abc","spanID":"000000000000000b"}],'
        b'"startTime":1485467191639875,"duration":5,"tags":[{"key":"n","type":"int64","value":-5}],'
        b'"logs":[],"processID":"p1","warnings":null}],"processes":{"p1":{"serviceName":"svc",'
        b'"tags":[{"key":"hostname","type":"string","value":"h1"}]}},"warnings":null}'
    )


def test_ids_128_bit_and_padding() -> None:
    tid = (0x1 << 64) | 0x2
    trace = Trace([span(0x1, Process("a"), trace_id=tid, refs=[SpanRef(SpanRefType.CHILD_OF, 0x5, 0x6)])])
    out = trace_to_dict(trace)
    assert out["traceID"] == "00000000000000010000000000000002"
    sp = out["spans"][0]
    assert sp["traceID"] == "00000000000000010000000000000002"
    assert sp["spanID"] == "0000000000000001"
    # A reference to a 64-bit trace keeps the short form.
    assert sp["references"] == [
        {"refType": "CHILD_OF", "traceID": "0000000000000005", "spanID": "0000000000000006"}
    ]
    big = trace_to_dict(Trace([span((1 << 64) - 1, Process("a"), trace_id=(1 << 128) - 1)]))
    assert big["traceID"] == "f" * 32
    assert big["spans"][0]["spanID"] == "f" * 16


def test_flags_omitted_when_zero_only() -> None:
    out = trace_to_dict(Trace([span(1, Process("a")), span(2, Process("a"), flags=3)]))
    assert "flags" not in out["spans"][0]
    assert out["spans"][1]["flags"] == 3
    assert list(out["spans"][1])[2] == "flags"


@pytest.mark.parametrize(
    ("kv", "expected"),
    [
        (KeyValue("k", ValueType.STRING, "v"), {"key": "k", "type": "string", "value": "v"}),
        (KeyValue("k", ValueType.BOOL, False), {"key": "k", "type": "bool", "value": False}),
        (KeyValue("k", ValueType.INT64, 2**53 - 1), {"key": "k", "type": "int64", "value": 2**53 - 1}),
        (KeyValue("k", ValueType.INT64, -(2**53) + 1), {"key": "k", "type": "int64", "value": -(2**53) + 1}),
        (KeyValue("k", ValueType.INT64, 2**53), {"key": "k", "type": "int64", "value": "9007199254740992"}),
        (
            KeyValue("k", ValueType.INT64, -(2**53)),
            {"key": "k", "type": "int64", "value": "-9007199254740992"},
        ),
        (
            KeyValue("k", ValueType.INT64, -(2**63)),
            {"key": "k", "type": "int64", "value": "-9223372036854775808"},
        ),
        (KeyValue("k", ValueType.FLOAT64, 0.25), {"key": "k", "type": "float64", "value": 0.25}),
        (KeyValue("k", ValueType.FLOAT64, float("nan")), {"key": "k", "type": "float64", "value": "NaN"}),
        (KeyValue("k", ValueType.FLOAT64, float("inf")), {"key": "k", "type": "float64", "value": "+Inf"}),
        (KeyValue("k", ValueType.FLOAT64, float("-inf")), {"key": "k", "type": "float64", "value": "-Inf"}),
        (KeyValue("k", ValueType.BINARY, b"\xff\xfe\x00"), {"key": "k", "type": "binary", "value": "//4A"}),
        (KeyValue("k", ValueType.BINARY, b""), {"key": "k", "type": "binary", "value": ""}),
    ],
)
def test_key_value_rendering(kv: KeyValue, expected: dict[str, Any]) -> None:
    out = trace_to_dict(Trace([span(1, Process("a"), tags=[kv])]))
    assert out["spans"][0]["tags"] == [expected]
    # orjson must accept whatever we produced.
    assert orjson.loads(dumps(out))["spans"][0]["tags"] == [expected]


def test_log_fields_and_process_tags_use_same_rendering() -> None:
    p = Process("a", [KeyValue("ip", ValueType.INT64, 2**60)])
    out = trace_to_dict(Trace([span(1, p, logs=[Log(T0 + 1, [KeyValue("b", ValueType.BINARY, b"a")])])]))
    assert out["spans"][0]["logs"] == [
        {"timestamp": T0 + 1, "fields": [{"key": "b", "type": "binary", "value": "YQ=="}]}
    ]
    assert out["processes"]["p1"]["tags"] == [{"key": "ip", "type": "int64", "value": str(2**60)}]


def test_processes_dedupe_by_content_in_first_appearance_order() -> None:
    a1 = Process("a", [s("h", "1")])
    a1_again = Process("a", [s("h", "1")])  # equal content, other object
    a2 = Process("a", [s("h", "2")])  # same service, other tags: a new key
    b = Process("b")
    spans = [span(1, b), span(2, a1), span(3, a2), span(4, a1_again), span(5, b)]
    out = trace_to_dict(Trace(spans))
    assert [sp["processID"] for sp in out["spans"]] == ["p1", "p2", "p3", "p2", "p1"]
    assert out["processes"] == {
        "p1": {"serviceName": "b", "tags": []},
        "p2": {"serviceName": "a", "tags": [{"key": "h", "type": "string", "value": "1"}]},
        "p3": {"serviceName": "a", "tags": [{"key": "h", "type": "string", "value": "2"}]},
    }


def test_processes_map_ordered_like_go_map_keys() -> None:
    spans = [span(i, Process(f"svc{i}")) for i in range(1, 12)]
    out = trace_to_dict(Trace(spans))
    assert list(out["processes"]) == ["p1", "p10", "p11", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]
    assert out["processes"]["p10"]["serviceName"] == "svc10"


def test_empty_trace() -> None:
    assert trace_to_dict(Trace([])) == {"traceID": "", "spans": [], "processes": {}, "warnings": None}


def test_envelope_bytes() -> None:
    assert dumps(envelope(["a", "b"], total=2)) == (
        b'{"data":["a","b"],"total":2,"limit":0,"offset":0,"errors":null}'
    )
    missing = envelope([], errors=[{"msg": "trace not found", "traceID": "0000000000000001"}])
    assert dumps(missing) == (
        b'{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"msg":"trace not found",'
        b'"traceID":"0000000000000001"}]}'
    )


def test_error_body_bytes() -> None:
    assert error_body(400, "parameter 'service' is required") == (
        b'{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,'
        b'"msg":"parameter \'service\' is required"}]}\n'
    )


def test_go_html_escaping() -> None:
    # Go's json.Marshal escapes <, >, & and the JS line separators inside strings.
    assert dumps({"m": "a<b>&c\u2028\u2029é"}) == b'{"m":"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\xc3\xa9"}'
    assert error_body(500, "x < y") == (
        b'{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"x \\u003c y"}]}\n'
    )


def test_pretty_print_four_spaces_like_go_marshal_indent() -> None:
    out = dumps(envelope([{"name": "op", "spanKind": ""}, {"a": [], "b": {}}], total=1), pretty=True)
    assert out == (
        b"{\n"
        b'    "data": [\n'
        b"        {\n"
        b'            "name": "op",\n'
        b'            "spanKind": ""\n'
        b"        },\n"
        b"        {\n"
        b'            "a": [],\n'
        b'            "b": {}\n'
        b"        }\n"
        b"    ],\n"
        b'    "total": 1,\n'
        b'    "limit": 0,\n'
        b'    "offset": 0,\n'
        b'    "errors": null\n'
        b"}"
    )


def test_pretty_print_keeps_string_content() -> None:
    # Leading spaces inside strings and escaped newlines must not be touched.
    obj = {"k": "  two\n  lines  "}
    out = dumps(obj, pretty=True)
    assert out == b'{\n    "k": "  two\\n  lines  "\n}'
    assert orjson.loads(out) == obj


def test_rendering_1000_spans_is_fast() -> None:
    procs = [Process(f"svc{i}", [s("hostname", f"h{i}"), s("ip", "10.0.0.1")]) for i in range(5)]
    spans = [
        span(
            i + 1,
            procs[i % 5],
            trace_id=(7 << 64) | 9,
            refs=[SpanRef(SpanRefType.CHILD_OF, (7 << 64) | 9, i)] if i else [],
            tags=[s(f"k{j}", "v") for j in range(8)] + [KeyValue("n", ValueType.INT64, i)],
            logs=[Log(T0, [s("event", "e"), KeyValue("x", ValueType.BOOL, True)])],
        )
        for i in range(1000)
    ]
    trace = Trace(spans)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        dumps(trace_to_dict(trace))
        best = min(best, time.perf_counter() - t)
    # Typically ~5 ms; the bound is loose so that slow CI machines pass.
    assert best < 0.05
