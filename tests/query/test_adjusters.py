from __future__ import annotations

import copy

from pyjaeger.codecs.query_json import trace_to_dict
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, Trace, ValueType
from pyjaeger.query.adjusters import adjust_trace

CHILD_OF, FOLLOWS_FROM = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM


def s(key: str, value: str) -> KeyValue:
    return KeyValue(key, ValueType.STRING, value)


def i64(key: str, value: int) -> KeyValue:
    return KeyValue(key, ValueType.INT64, value)


def span(
    span_id: int = 1,
    *,
    trace_id: int = 1,
    process: Process | None = None,
    refs: list[SpanRef] | None = None,
    tags: list[KeyValue] | None = None,
    logs: list[Log] | None = None,
    warnings: list[str] | None = None,
    op: str = "op",
) -> Span:
    return Span(
        trace_id,
        span_id,
        op,
        refs or [],
        0,
        1000,
        5,
        tags or [],
        logs or [],
        process or Process("svc"),
        warnings,
    )


def adjust_one(sp: Span) -> Span:
    out = adjust_trace(Trace([sp]))
    assert len(out.spans) == 1
    return out.spans[0]


def keys(kvs: list[KeyValue]) -> list[str]:
    return [kv.key for kv in kvs]


# --- SortTagsAndLogFields ---------------------------------------------------------------------


def test_sorts_span_and_process_tags() -> None:
    proc = Process("svc", [s("z", "1"), s("a", "2")])
    out = adjust_one(
        span(tags=[s("http.url", "u"), s("http.method", "GET"), i64("http.status_code", 200)], process=proc)
    )
    assert keys(out.tags) == ["http.method", "http.status_code", "http.url"]
    assert keys(out.process.tags) == ["a", "z"]


def test_equal_keys_order_by_type_then_value() -> None:
    # gogo KeyValue.Compare: key, then type (api_v2 numbering), then value.
    tags = [s("k", "b"), i64("k", 2), s("k", "a"), i64("k", -1), KeyValue("k", ValueType.BOOL, True)]
    out = adjust_one(span(tags=tags))
    assert out.tags == [
        s("k", "a"),
        s("k", "b"),
        KeyValue("k", ValueType.BOOL, True),
        i64("k", -1),
        i64("k", 2),
    ]


def test_log_fields_event_first_then_sorted() -> None:
    # Jaeger's sort_tags_and_log_fields_test.go cases.
    cases = [
        ([s("event", "some event")], [s("event", "some event")]),
        ([i64("event", 42), i64("a", 41)], [i64("a", 41), i64("event", 42)]),  # non-string event
        ([s("nonsense", "42")], [s("nonsense", "42")]),
        ([s("event", "some event"), i64("a", 41)], [s("event", "some event"), i64("a", 41)]),
        (
            [i64("x", 1), i64("a", 2), s("event", "some event")],
            [s("event", "some event"), i64("a", 2), i64("x", 1)],
        ),
        (
            [s("b", "1"), s("event", "e"), s("a", "2"), s("event", "f")],
            [s("event", "e"), s("a", "2"), s("b", "1"), s("event", "f")],
        ),
    ]
    for fields, expected in cases:
        out = adjust_one(span(logs=[Log(7, fields)]))
        assert out.logs == [Log(7, expected)], fields


def test_logs_keep_their_order() -> None:
    logs = [Log(3, [s("b", "1"), s("a", "1")]), Log(1, [s("x", "1")])]
    out = adjust_one(span(logs=logs))
    assert [log.timestamp for log in out.logs] == [3, 1]
    assert keys(out.logs[0].fields) == ["a", "b"]


# --- DedupeBySpanHash -------------------------------------------------------------------------


def test_dedupes_identical_spans_keeps_first_order() -> None:
    a = span(1, tags=[s("a", "1"), s("b", "2")])
    a_copy = span(1, tags=[s("b", "2"), s("a", "1")])  # same after sorting: a duplicate
    b = span(2)
    a_changed = span(1, op="other")  # same id, other content: kept
    out = adjust_trace(Trace([a, b, a_copy, a_changed, copy.deepcopy(b)]))
    assert [(sp.span_id, sp.operation_name) for sp in out.spans] == [(1, "op"), (2, "op"), (1, "other")]


def test_dedupe_compares_process_and_warnings() -> None:
    a = span(1, process=Process("a"))
    b = span(1, process=Process("b"))
    c = span(1, process=Process("a"), warnings=["w"])
    assert len(adjust_trace(Trace([a, b, c, copy.deepcopy(a)])).spans) == 3


# --- IPTagAdjuster ----------------------------------------------------------------------------


def test_numeric_ip_tags_become_dotted_quads() -> None:
    proc = Process("svc", [s("hostname", "h"), i64("ip", 0x0A000001)])
    sp = span(
        tags=[
            i64("peer.ipv4", 0x08080808),
            KeyValue("ip", ValueType.FLOAT64, 3232235777.0),
            i64("peer.port", 80),
            s("ip", "1.2.3.4"),
        ],
        process=proc,
    )
    out = adjust_one(sp)
    # Sorting happened before, so span tags keep the sorted positions of the numeric tags.
    assert out.tags == [
        s("ip", "1.2.3.4"),
        s("ip", "192.168.1.1"),
        s("peer.ipv4", "8.8.8.8"),
        i64("peer.port", 80),
    ]
    assert out.process.tags == [s("hostname", "h"), s("ip", "10.0.0.1")]


def test_ip_tag_uses_low_32_bits_like_go_uint32() -> None:
    assert adjust_one(span(tags=[i64("ip", -1)])).tags == [s("ip", "255.255.255.255")]
    assert adjust_one(span(tags=[i64("ip", (1 << 32) + 2)])).tags == [s("ip", "0.0.0.2")]
    assert adjust_one(span(tags=[KeyValue("ip", ValueType.FLOAT64, float("nan"))])).tags == [
        s("ip", "0.0.0.0")
    ]


# --- OTelTagAdjuster --------------------------------------------------------------------------


def test_otel_library_tags_move_to_the_process() -> None:
    proc = Process("svc", [s("host.name", "h")])
    with_sdk = span(
        1,
        process=proc,
        tags=[s("telemetry.sdk.name", "opentelemetry"), s("a", "1"), s("telemetry.distro.version", "2")],
    )
    plain = span(2, process=proc, tags=[s("a", "1")])
    out = adjust_trace(Trace([with_sdk, plain]))
    assert out.spans[0].tags == [s("a", "1")]
    assert out.spans[0].process.tags == [
        s("host.name", "h"),
        s("telemetry.distro.version", "2"),
        s("telemetry.sdk.name", "opentelemetry"),
    ]
    # Only that span's process gains them.
    assert out.spans[1].process is proc


# --- SpanReferences ---------------------------------------------------------------------------


def test_references_with_zero_trace_id_removed_with_warning() -> None:
    sp = span(
        refs=[SpanRef(CHILD_OF, 1, 2), SpanRef(CHILD_OF, 0, 0xFF), SpanRef(FOLLOWS_FROM, 1 << 64, 3)],
        warnings=["earlier"],
    )
    out = adjust_one(sp)
    assert out.references == [SpanRef(CHILD_OF, 1, 2), SpanRef(FOLLOWS_FROM, 1 << 64, 3)]
    assert out.warnings == [
        "earlier",
        "Invalid span reference removed {TraceID:0000000000000000 SpanID:00000000000000ff RefType:CHILD_OF "
        "XXX_NoUnkeyedLiteral:{} XXX_unrecognized:[] XXX_sizecache:0}",
    ]


# --- ParentReference --------------------------------------------------------------------------


def test_parent_reference_swapped_to_front() -> None:
    cases = [
        # (references, expected order) with the span's trace id = 1.
        (
            [(CHILD_OF, 0xFF, 9), (CHILD_OF, 1, 2), (FOLLOWS_FROM, 1, 3)],
            [(CHILD_OF, 1, 2), (CHILD_OF, 0xFF, 9), (FOLLOWS_FROM, 1, 3)],
        ),
        # No same-trace CHILD_OF: the first same-trace reference of any type.
        (
            [(CHILD_OF, 7, 9), (FOLLOWS_FROM, 1, 3), (FOLLOWS_FROM, 1, 4)],
            [(FOLLOWS_FROM, 1, 3), (CHILD_OF, 7, 9), (FOLLOWS_FROM, 1, 4)],
        ),
        # A swap, not a move: the displaced first reference takes the parent's old place.
        (
            [(FOLLOWS_FROM, 1, 1), (FOLLOWS_FROM, 1, 2), (CHILD_OF, 1, 3)],
            [(CHILD_OF, 1, 3), (FOLLOWS_FROM, 1, 2), (FOLLOWS_FROM, 1, 1)],
        ),
        # Nothing in this trace: left alone.
        ([(CHILD_OF, 7, 9), (FOLLOWS_FROM, 8, 3)], [(CHILD_OF, 7, 9), (FOLLOWS_FROM, 8, 3)]),
        ([(CHILD_OF, 1, 2)], [(CHILD_OF, 1, 2)]),
    ]
    for refs, expected in cases:
        out = adjust_one(span(refs=[SpanRef(*r) for r in refs]))
        assert [(r.ref_type, r.trace_id, r.span_id) for r in out.references] == expected, refs


def test_zero_trace_refs_removed_before_parent_chosen() -> None:
    out = adjust_one(
        span(refs=[SpanRef(CHILD_OF, 0, 5), SpanRef(FOLLOWS_FROM, 7, 1), SpanRef(CHILD_OF, 1, 4)])
    )
    assert out.references == [SpanRef(CHILD_OF, 1, 4), SpanRef(FOLLOWS_FROM, 7, 1)]


# --- Copy semantics ---------------------------------------------------------------------------


def test_input_trace_is_not_mutated() -> None:
    proc = Process("svc", [s("z", "1"), i64("ip", 1), s("a", "1")])
    spans = [
        span(
            1,
            process=proc,
            tags=[s("b", "1"), s("telemetry.sdk.name", "x"), s("a", "1")],
            logs=[Log(1, [s("z", "1"), s("event", "e")])],
            refs=[SpanRef(FOLLOWS_FROM, 1, 5), SpanRef(CHILD_OF, 0, 3), SpanRef(CHILD_OF, 1, 4)],
            warnings=["w"],
        ),
        span(2, process=proc, tags=[s("b", "1"), s("a", "1")]),
        span(2, process=proc, tags=[s("a", "1"), s("b", "1")]),
    ]
    trace = Trace(spans, warnings=["tw"])
    before = copy.deepcopy(trace)
    out = adjust_trace(trace)
    assert trace == before
    assert trace.spans[0].process is proc and trace.spans[1].process is proc
    assert out is not trace and out.warnings == ["tw"] and out.warnings is not trace.warnings
    assert len(out.spans) == 2


def test_unchanged_spans_pass_through_and_shared_processes_stay_shared() -> None:
    proc = Process("svc", [s("b", "1"), s("a", "1")])
    already_fine = span(1, process=Process("other", [s("a", "1")]), tags=[s("a", "1"), s("b", "2")])
    spans = [span(i, process=proc) for i in range(2, 6)] + [already_fine]
    out = adjust_trace(Trace(spans))
    assert out.spans[-1] is already_fine
    sorted_proc = out.spans[0].process
    assert keys(sorted_proc.tags) == ["a", "b"]
    assert all(sp.process is sorted_proc for sp in out.spans[:4])
    assert [sp["processID"] for sp in trace_to_dict(out)["spans"]] == ["p1"] * 4 + ["p2"]


def test_empty_trace() -> None:
    assert adjust_trace(Trace([])) == Trace([])


# --- ZipkinSpanIDUniquifier -----------------------------------------------------------------


def kind(k: str) -> list[KeyValue]:
    return [s("span.kind", k)]


def test_shared_server_span_gets_new_id_and_the_client_as_parent() -> None:
    root = span(1, tags=kind("server"))
    client = span(5, refs=[SpanRef(CHILD_OF, 1, 1)], tags=kind("client"), op="client")
    server = span(5, refs=[SpanRef(CHILD_OF, 1, 1)], tags=kind("server"), op="server")
    below = span(9, refs=[SpanRef(CHILD_OF, 1, 5)], op="db")  # called by the server side
    original = copy.deepcopy([root, client, server, below])
    out = adjust_trace(Trace([root, client, server, below])).spans
    by_op = {sp.operation_name: sp for sp in out}
    # 1 is taken by the root: the lowest free id is 2.
    assert by_op["server"].span_id == 2
    assert by_op["server"].references == [SpanRef(CHILD_OF, 1, 5)]
    assert by_op["client"].span_id == 5 and by_op["client"].references == [SpanRef(CHILD_OF, 1, 1)]
    assert by_op["db"].references == [SpanRef(CHILD_OF, 1, 2)]
    assert [root, client, server, below] == original  # inputs untouched


def test_shared_root_server_span_gets_a_parent_reference() -> None:
    client = span(7, tags=kind("client"), op="client")
    server = span(7, tags=kind("server"), op="server")
    out = adjust_trace(Trace([client, server])).spans
    assert [(sp.operation_name, sp.span_id, sp.references) for sp in out] == [
        ("client", 7, []),
        ("server", 1, [SpanRef(CHILD_OF, 1, 7)]),
    ]


def test_same_id_without_a_client_span_is_left_alone() -> None:
    a = span(3, tags=kind("server"), op="a")
    b = span(3, tags=kind("server"), op="b")
    c = span(4, tags=kind("client"))
    out = adjust_trace(Trace([a, b, c])).spans
    assert [sp.span_id for sp in out] == [3, 3, 4]


def test_zipkin_uniquifier_skipped_for_raw_traces() -> None:
    import asyncio
    from typing import Any, cast

    from pyjaeger.query.service import QueryService

    trace = Trace([span(7, tags=kind("client")), span(7, tags=kind("server"))])

    class Reader:
        async def get_trace(self, trace_id: int) -> Trace:
            return trace

    service = QueryService(cast(Any, Reader()), cast(Any, None))
    raw = asyncio.run(service.get_trace(1, raw=True))
    adjusted = asyncio.run(service.get_trace(1))
    assert raw is not None and adjusted is not None
    assert [sp.span_id for sp in raw.spans] == [7, 7]
    assert [sp.span_id for sp in adjusted.spans] == [7, 1]
