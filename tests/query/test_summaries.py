"""Trace summaries (api_v3 FindTraceSummaries): exact counts on a multi-service trace with error
spans and orphans, the root rule, and agreement with the OTLP the trace is served as."""

from __future__ import annotations

from pyjaeger.codecs.otlp_encode import export_request
from pyjaeger.model import KeyValue, Process, Span, SpanRef, SpanRefType, Trace, ValueType
from pyjaeger.query.summaries import ServiceSummary, TraceSummary, summarize

T0 = 1_700_000_000_000_000  # µs
TID = 0xFEED_0000_0000_0001_0000_0000_0000_0042
STR, BOOL = ValueType.STRING, ValueType.BOOL
FRONTEND, BACKEND, DB = Process("frontend"), Process("backend"), Process("db", [KeyValue("v", STR, "1")])


def span(
    span_id: int,
    process: Process,
    *,
    parent: int = 0,
    start: int = 0,
    duration: int = 100,
    tags: list[KeyValue] | None = None,
    refs: list[SpanRef] | None = None,
    name: str = "",
) -> Span:
    references = [SpanRef(SpanRefType.CHILD_OF, TID, parent)] if parent else []
    references += refs or []
    return Span(
        TID,
        span_id,
        name or f"op-{span_id:x}",
        references,
        1,
        T0 + start,
        duration,
        tags or [],
        [],
        process,
    )


def error_tag() -> list[KeyValue]:
    return [KeyValue("error", BOOL, True)]


def shop_trace() -> Trace:
    """frontend → backend → db, with:
    - 2 error spans (backend: error=true; db: otel.status_code=error, any case),
    - 1 span whose error tag is a string (not an OTel error status),
    - 2 orphans (parents 0x99 and 0x98 are not in the trace),
    - a second parentless span that starts later than the root."""
    return Trace(
        [
            span(0xB, BACKEND, parent=0xA, start=10, duration=50, tags=error_tag()),
            span(0xA, FRONTEND, start=0, duration=1_000, name="GET /checkout"),
            span(
                0xC, DB, parent=0xB, start=20, duration=5, tags=[KeyValue("otel.status_code", STR, "error")]
            ),
            span(0xD, DB, parent=0xB, start=30, duration=5, tags=[KeyValue("error", STR, "true")]),
            span(0xE, BACKEND, parent=0x99, start=-500, duration=2_000),  # orphan, earliest start, latest end
            span(0xF, FRONTEND, parent=0x98, start=40, duration=1),  # orphan
            span(0x10, DB, start=5, duration=1, name="late root"),  # parentless, later than 0xA
        ]
    )


def test_multi_service_trace_with_errors_and_orphans() -> None:
    assert summarize(shop_trace()) == TraceSummary(
        trace_id=TID,
        root_service_name="frontend",
        root_operation_name="GET /checkout",
        min_start_time_unix_nano=(T0 - 500) * 1000,
        max_end_time_unix_nano=(T0 - 500 + 2_000) * 1000,
        span_count=7,
        error_span_count=2,
        orphan_span_count=2,
        services=(
            ServiceSummary("backend", span_count=2, error_span_count=1),
            ServiceSummary("db", span_count=3, error_span_count=1),
            ServiceSummary("frontend", span_count=2, error_span_count=0),
        ),
    )
    assert summarize(shop_trace()).trace_id_hex == f"{TID:032x}"


def test_errors_are_the_otlp_error_statuses() -> None:
    """The error count is the number of spans api_v3 serves with status.code 2."""
    trace = shop_trace()
    served = [
        sp for rs in export_request(trace.spans).resource_spans for ss in rs.scope_spans for sp in ss.spans
    ]
    assert summarize(trace).error_span_count == sum(1 for sp in served if sp.status.code == 2) == 2


def test_root_is_the_earliest_parentless_span() -> None:
    trace = Trace(
        [
            span(1, BACKEND, start=50, name="second"),
            span(2, FRONTEND, start=10, name="first"),
            span(3, DB, start=10, name="tie, later in the trace"),
            span(4, DB, parent=1, start=0),  # earliest, but has a parent
        ]
    )
    s = summarize(trace)
    assert (s.root_service_name, s.root_operation_name, s.orphan_span_count) == ("frontend", "first", 0)


def test_follows_from_parent_and_other_trace_references() -> None:
    """The parent is Jaeger's (a FOLLOWS_FROM to the same trace counts); a reference to another
    trace is a link, not a parent."""
    follows = SpanRef(SpanRefType.FOLLOWS_FROM, TID, 0x77)
    elsewhere = SpanRef(SpanRefType.CHILD_OF, 0x1234, 0x5)
    trace = Trace([span(1, FRONTEND, name="root", refs=[elsewhere]), span(2, BACKEND, refs=[follows])])
    s = summarize(trace)
    assert (s.root_operation_name, s.orphan_span_count) == ("root", 1)


def test_no_root_and_unnamed_resources() -> None:
    unnamed = Process("OTLPResourceNoServiceName", [])
    trace = Trace([span(1, unnamed, parent=5), span(2, unnamed, parent=1)])
    s = summarize(trace)
    assert (s.root_service_name, s.root_operation_name) == ("", "")
    assert s.orphan_span_count == 1
    # OTLP has no service.name for such a resource: the summary names it "" as Jaeger would.
    assert s.services == (ServiceSummary("", 2, 0),)


def test_counts_are_over_the_spans_given() -> None:
    """Counts are over the spans given (the caller adjusts: Jaeger sums up adjusted traces)."""
    a = span(1, FRONTEND)
    assert summarize(Trace([a, a])).span_count == 2
