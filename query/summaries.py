"""Trace summaries: one line per trace of a search, what api_v3 `FindTraceSummaries` answers.

The rules are Jaeger v2.20's (`querysvc/summary.go`), read on the trace as api_v3 hands it out
(`codecs.otlp_encode`), so that a summary and the trace it sums up never disagree:

- a service is the resource's `service.name`; `services` lists each with its span and error
  counts, sorted by name;
- an error span is one whose OTLP status is ERROR (`error=true`, or `otel.status_code=ERROR`);
- the root is the earliest span without a parent (the first of equals, in the trace's order);
  no such span leaves the root's names empty;
- an orphan is a span whose parent is not a span of the trace;
- times are the earliest start and the latest end, in nanoseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.codecs.otlp_encode import STATUS_ERROR, resource_service_name, span_status_code, unix_nano
from pyjaeger.model import Trace

__all__ = ["ServiceSummary", "TraceSummary", "summarize"]


@dataclass(slots=True, frozen=True)
class ServiceSummary:
    name: str
    span_count: int
    error_span_count: int


@dataclass(slots=True, frozen=True)
class TraceSummary:
    trace_id: int  # 128-bit; api_v3 writes it as 32 hex digits (`trace_id_hex`)
    root_service_name: str
    root_operation_name: str
    min_start_time_unix_nano: int
    max_end_time_unix_nano: int
    span_count: int
    error_span_count: int
    orphan_span_count: int
    services: tuple[ServiceSummary, ...]  # sorted by name

    @property
    def trace_id_hex(self) -> str:
        return f"{self.trace_id:032x}"


def summarize(trace: Trace) -> TraceSummary:
    """The summary of a trace (adjusted or raw: the caller decides, Jaeger sums up adjusted ones)."""
    spans = trace.spans
    span_ids = {s.span_id for s in spans}
    counts: dict[str, list[int]] = {}  # service → [spans, errors]
    errors = orphans = 0
    min_start = max_end = -1
    root_start = -1
    root_service = root_operation = ""
    for span in spans:
        service = resource_service_name(span.process)
        count = counts.get(service)
        if count is None:
            count = counts[service] = [0, 0]
        count[0] += 1
        if span_status_code(span) == STATUS_ERROR:
            count[1] += 1
            errors += 1
        start = unix_nano(span.start_time)
        end = unix_nano(span.start_time + span.duration)
        if min_start < 0 or start < min_start:
            min_start = start
        if max_end < 0 or end > max_end:
            max_end = end
        parent = span.parent_span_id
        if parent == 0:
            if root_start < 0 or start < root_start:
                root_start, root_service, root_operation = start, service, span.operation_name
        elif parent not in span_ids:
            orphans += 1
    return TraceSummary(
        trace_id=trace.trace_id,
        root_service_name=root_service,
        root_operation_name=root_operation,
        min_start_time_unix_nano=max(min_start, 0),
        max_end_time_unix_nano=max(max_end, 0),
        span_count=len(spans),
        error_span_count=errors,
        orphan_span_count=orphans,
        services=tuple(ServiceSummary(name, n, e) for name, (n, e) in sorted(counts.items())),
    )
