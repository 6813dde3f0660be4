"""ZipkinSpan → Span with Jaeger v2's rules (Zipkin → OTLP → Jaeger), on captures and hand-made spans."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pyjaeger.codecs.otel_translate import NO_SERVICE_NAME
from pyjaeger.codecs.zipkin_model import Annotation, Endpoint, ZipkinSpan
from pyjaeger.codecs.zipkin_translate import zipkin_to_spans
from pyjaeger.codecs.zipkin_v2 import decode_v2_json, decode_v2_proto
from pyjaeger.model import (
    FLAG_DEBUG,
    FLAG_SAMPLED,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
STR, BOOL, INT, FLOAT, BIN = ValueType  # members in definition order


def tr(**fields: object) -> Span:
    base: dict[str, object] = {"trace_id": 1, "id": 2, "timestamp": 10, "duration": 5}
    base.update(fields)
    (span,) = zipkin_to_spans([ZipkinSpan(**base)])  # type: ignore[arg-type]
    return span


def tags(span: Span) -> list[tuple[str, object]]:
    return [(kv.key, kv.value) for kv in span.tags]


def test_otel_captures_json_and_proto_translate_alike() -> None:
    js = zipkin_to_spans(decode_v2_json((CAPTURES / "otel-zipkin-json_v2.json").read_bytes()))
    ps = zipkin_to_spans(decode_v2_proto((CAPTURES / "otel-zipkin-proto_ListOfSpans.bin").read_bytes()))
    # Two exports of the same program: equal but for ids, times, service name and tag order.
    for j, p in zip(js, ps, strict=True):
        assert j.operation_name == p.operation_name
        assert sorted(tags(j)) == sorted(tags(p))
        assert [[(f.key, f.value) for f in log.fields] for log in j.logs] == [
            [(f.key, f.value) for f in log.fields] for log in p.logs
        ]
        assert sorted(t.key for t in j.process.tags) == sorted(t.key for t in p.process.tags)
        assert (j.process.service_name, p.process.service_name) == ("demo-zipkin-json", "demo-zipkin-proto")
        assert j.flags == p.flags == FLAG_SAMPLED | FLAG_DEBUG  # the OTel exporter sets debug
        assert bool(j.references) == bool(p.references)
    child2, child1, root = js
    assert child2.parent_span_id == child1.span_id and child1.parent_span_id == root.span_id
    assert tags(root) == [("otel.scope.name", "feas"), ("http.method", "GET"), ("http.status_code", "200")]
    assert child1.logs == [Log(1795490031400683, [KeyValue("event", STR, '{"hello": {"n": 1}}')])]
    assert root.process == Process(
        "demo-zipkin-json",
        [
            KeyValue("telemetry.sdk.language", STR, "python"),
            KeyValue("telemetry.sdk.name", STR, "opentelemetry"),
            KeyValue("telemetry.sdk.version", STR, "1.27.0"),
        ],
    )
    assert root.process is child1.process  # one Process per service/endpoint, shared
    assert (root.start_time, root.duration) == (1795490031400632, 98)


def test_jaeger_v2_01() -> None:
    (span,) = zipkin_to_spans(decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_01.json").read_bytes()))
    assert span == Span(
        0xBD7A974555F6B982BD71977555F6B981,
        2,
        "foo",
        [SpanRef(SpanRefType.CHILD_OF, 0xBD7A974555F6B982BD71977555F6B981, 1)],
        FLAG_SAMPLED | FLAG_DEBUG,
        1,
        10,
        [
            KeyValue("foo", STR, "bar"),
            KeyValue("peer.service", STR, "bar"),
            KeyValue("net.peer.ip", STR, "10.43.17.43"),
            KeyValue("span.kind", STR, "client"),
        ],
        [Log(1, [KeyValue("event", STR, "foo")])],
        Process("foo", [KeyValue("net.host.ip", STR, "10.43.17.42")]),
    )


def test_jaeger_v2_02_and_03() -> None:
    (s2,) = zipkin_to_spans(decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_02.json").read_bytes()))
    assert s2.process == Process(
        "bar", [KeyValue("net.host.ip", STR, "10.43.17.42"), KeyValue("net.host.port", INT, 8080)]
    )
    assert s2.references == [] and s2.flags == FLAG_SAMPLED and s2.tags == []
    (s3,) = zipkin_to_spans(decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_03.json").read_bytes()))
    assert tags(s3) == [
        ("kafka.topic", "schema-changed"),
        ("peer.service", "kafka"),
        ("span.kind", "producer"),
    ]
    assert s3.process == Process("schemas-service", [])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("CLIENT", "client"), ("SERVER", "server"), ("PRODUCER", "producer"), ("CONSUMER", "consumer")],
)
def test_kinds(kind: str, expected: str) -> None:
    assert tags(tr(kind=kind)) == [("span.kind", expected)]


def test_no_kind_no_tag_but_internal_tag_is_kept_once() -> None:
    assert tags(tr()) == []
    assert tags(tr(tags={"span.kind": "internal"})) == [("span.kind", "internal")]
    assert tags(tr(tags={"span.kind": "weird"})) == [("span.kind", "weird")]


def test_parent_equal_to_id_is_no_parent() -> None:
    assert tr(parent_id=2).references == []
    assert tr(parent_id=3).references == [SpanRef(SpanRefType.CHILD_OF, 1, 3)]


def test_128_bit_trace_id() -> None:
    t = (0xABC << 64) | 7
    span = tr(trace_id=t, parent_id=9)
    assert span.trace_id == t and span.references[0].trace_id == t


def test_missing_service_name() -> None:
    span = tr(tags={"host.name": "h1", "x": "y"})
    assert span.process == Process(NO_SERVICE_NAME, [])  # Jaeger drops resource tags then
    assert tags(span) == [("x", "y")]
    span = tr(local_endpoint=Endpoint(None, "10.0.0.1", None, 80))
    assert span.process == Process(
        NO_SERVICE_NAME, [KeyValue("net.host.ip", STR, "10.0.0.1"), KeyValue("net.host.port", INT, 80)]
    )


def test_resource_tags_go_to_the_process_and_service_name_tag_is_dropped() -> None:
    span = tr(
        local_endpoint=Endpoint("svc"),
        tags={"service.name": "other", "host.name": "h1", "process.pid": "42", "http.method": "GET"},
    )
    assert span.process == Process(
        "svc", [KeyValue("host.name", STR, "h1"), KeyValue("process.pid", STR, "42")]
    )
    assert tags(span) == [("http.method", "GET")]


def test_processes_by_service_and_endpoint() -> None:
    spans = zipkin_to_spans(
        [
            ZipkinSpan(1, 1, local_endpoint=Endpoint("a", "10.0.0.1"), tags={"host.name": "h1"}),
            ZipkinSpan(1, 2, local_endpoint=Endpoint("a", "10.0.0.1"), tags={"host.name": "h2"}),
            ZipkinSpan(1, 3, local_endpoint=Endpoint("a", "10.0.0.2")),
            ZipkinSpan(1, 4, local_endpoint=Endpoint("b", "10.0.0.1")),
        ]
    )
    assert spans[0].process is spans[1].process  # the first span's resource tags win, as in Jaeger
    assert spans[1].process.tags[0] == KeyValue("host.name", STR, "h1")
    assert spans[1].tag("host.name") is None
    assert len({id(s.process) for s in spans}) == 3


def test_ipv6_wins_over_ipv4() -> None:
    span = tr(
        local_endpoint=Endpoint("a", "10.0.0.1", "::1"),
        remote_endpoint=Endpoint(None, "10.0.0.2", "::2", 443),
    )
    assert span.process.tags == [KeyValue("net.host.ip", STR, "::1")]
    assert tags(span) == [("net.peer.ip", "::2"), ("net.peer.port", 443)]
    assert span.tag("net.peer.port") == KeyValue("net.peer.port", INT, 443)


def test_tags_stay_strings() -> None:
    span = tr(tags={"http.status_code": "200", "flag": "true", "ratio": "0.5"})
    assert all(kv.v_type == STR for kv in span.tags)


def test_error_true_is_status_error() -> None:
    span = tr(tags={"error": "true", "a": "b"})
    assert [(kv.key, kv.v_type, kv.value) for kv in span.tags] == [
        ("a", STR, "b"),
        ("otel.status_code", STR, "ERROR"),
        ("error", BOOL, True),
    ]


def test_error_message_is_status_error_and_kept() -> None:
    # Zipkin puts the error message in the `error` tag; OTel's receiver marks the span failed.
    assert tags(tr(tags={"error": "boom"})) == [
        ("error", "boom"),
        ("otel.status_code", "ERROR"),
        ("error", True),
    ]


@pytest.mark.parametrize("code", ["OK", "STATUS_CODE_OK"])
def test_status_code_and_description(code: str) -> None:
    span = tr(tags={"otel.status_code": code, "otel.status_description": "fine"})
    assert tags(span) == [("otel.status_code", "OK"), ("otel.status_description", "fine")]


def test_status_from_otel_exporter() -> None:
    # OTel SDK Zipkin exporters send otel.status_code=ERROR and the description in `error`.
    span = tr(tags={"otel.status_code": "ERROR", "error": "bad input"})
    assert tags(span) == [("error", "bad input"), ("otel.status_code", "ERROR"), ("error", True)]
    assert tags(tr(tags={"otel.status_code": "STATUS_CODE_UNSET"})) == []


def test_description_without_code_is_a_plain_tag() -> None:
    assert tags(tr(tags={"otel.status_description": "x"})) == [("otel.status_description", "x")]


def test_scope_and_tracestate() -> None:
    span = tr(
        tags={"x": "1", "otel.library.name": "lib", "otel.library.version": "1.0", "w3c.tracestate": "k=v"}
    )
    assert tags(span) == [
        ("otel.scope.name", "lib"),
        ("otel.scope.version", "1.0"),
        ("x", "1"),
        ("w3c.tracestate", "k=v"),
    ]
    # Newer SDKs send otel.scope.* as well as otel.library.*; one pair of tags comes out.
    span = tr(tags={"otel.scope.name": "s", "otel.library.name": "s", "otel.scope.version": ""})
    assert tags(span) == [("otel.scope.name", "s")]


def test_annotations_to_logs() -> None:
    span = tr(
        annotations=[
            Annotation(11, "cs"),
            Annotation(12, "a|b"),
            Annotation(13, 'exc|{"k": "v", "n": 2, "ok": true, "l": [1]}|0'),
            Annotation(14, "bad|{json|1"),
            Annotation(15, ""),
            Annotation(16, 'x|{"event": "own"}|0'),
        ]
    )
    assert span.logs == [
        Log(11, [KeyValue("event", STR, "cs")]),
        Log(12, [KeyValue("event", STR, "a")]),  # OTLP's annotation reading keeps the part before |
        Log(
            13,
            [
                KeyValue("event", STR, "exc"),
                KeyValue("k", STR, "v"),
                KeyValue("n", FLOAT, 2.0),
                KeyValue("ok", BOOL, True),
                KeyValue("l", STR, "[1]"),
            ],
        ),
        Log(14, [KeyValue("event", STR, "bad|{json|1")]),
        Log(15, []),
        Log(16, [KeyValue("event", STR, "own")]),
    ]


def test_missing_timestamp_and_duration() -> None:
    span = tr(timestamp=None, duration=None)
    assert (span.start_time, span.duration) == (0, 0)
    assert span.tags == [KeyValue("otel.zipkin.absentField.startTime", BOOL, True)]
    assert tr(duration=None).duration == 0 and tr(duration=None).tags == []


def test_debug_and_shared_flags() -> None:
    assert tr().flags == FLAG_SAMPLED
    assert tr(debug=True).flags == FLAG_SAMPLED | FLAG_DEBUG
    shared = tr(shared=True, kind="SERVER")
    # shared adds nothing: the uniquifier works from span.kind=server and the duplicated id.
    assert dataclasses.replace(shared, process=tr().process) == tr(kind="SERVER")


def test_input_is_not_modified() -> None:
    zs = ZipkinSpan(1, 2, tags={"error": "true", "host.name": "h"}, local_endpoint=Endpoint("s"))
    zipkin_to_spans([zs])
    assert zs.tags == {"error": "true", "host.name": "h"}


def test_empty_batch() -> None:
    assert zipkin_to_spans([]) == []


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.glob("*_v2*.json")))
def test_every_v2_json_capture_translates(name: str) -> None:
    spans = zipkin_to_spans(decode_v2_json((CAPTURES / name).read_bytes()))
    assert spans and all(s.process.service_name != NO_SERVICE_NAME for s in spans)
