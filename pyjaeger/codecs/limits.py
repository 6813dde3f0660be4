"""What a decoded span must satisfy before it is queued: one rule for every wire format.

A span leaving a codec is stored, indexed, labelled in Prometheus and rendered as JSON. Codecs
already guarantee valid Unicode (Thrift and JSON readers replace invalid UTF-8 and lone surrogates
with U+FFFD, as Go does; protobuf refuses invalid UTF-8) and ids within their widths. What a wire
format can still carry is a time no backend can place: Zipkin JSON writes times as unbounded
numbers (`"timestamp": 1e30`), Zipkin proto as unsigned fixed64, api_v2 as seconds that overflow
int64 once multiplied. The rule is protobuf's `Timestamp` range, the one Jaeger's api_v2 and
OTLP's clients live in: a span's start, its end and its log times lie in the years 1 to 9999
(every backend keeps int64 µs, and Elasticsearch names indices by the date); its duration fits
int64 µs. A span outside is refused on its own, with a reason, and the rest of its request goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyjaeger.model import MAX_SPAN_ID, MAX_TRACE_ID, Span

__all__ = [
    "INT64_MIN",
    "INT64_MAX",
    "MIN_TIME_US",
    "MAX_TIME_US",
    "Screened",
    "span_problem",
    "screen",
    "rejection_message",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MIN_TIME_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
MAX_TIME_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


@dataclass(slots=True)
class Screened:
    spans: list[Span]  # the spans that can be stored
    rejected: int = 0  # spans refused, each for a reason
    reason: str = ""  # why the first one was refused; "" when none was


def span_problem(span: Span) -> str:
    """Why `span` cannot be stored as it is, or ""."""
    start, duration = span.start_time, span.duration
    if not MIN_TIME_US <= start <= MAX_TIME_US:
        return f"start time {start} µs is outside the years 1 to 9999"
    if not INT64_MIN <= duration <= INT64_MAX:
        return f"duration {duration} µs is outside int64"
    if start + duration > MAX_TIME_US:
        return f"start time {start} µs plus duration {duration} µs ends after the year 9999"
    if not 0 <= span.trace_id <= MAX_TRACE_ID:
        return f"trace id {span.trace_id:x} is wider than 128 bits"
    if not 0 <= span.span_id <= MAX_SPAN_ID:
        return f"span id {span.span_id:x} is wider than 64 bits"
    for log in span.logs:
        if not MIN_TIME_US <= log.timestamp <= MAX_TIME_US:
            return f"log timestamp {log.timestamp} µs is outside the years 1 to 9999"
    for ref in span.references:
        if not 0 <= ref.trace_id <= MAX_TRACE_ID or not 0 <= ref.span_id <= MAX_SPAN_ID:
            return "a reference's ids are wider than 128/64 bits"
    return ""


def rejection_message(rejected: int, first_reason: str) -> str:
    """How many spans of a request were refused and why the first one was ("" when none was)."""
    return f"{rejected} span(s) rejected; first: {first_reason}" if rejected else ""


def screen(spans: Sequence[Span]) -> Screened:
    """The spans that can be stored, and how many could not and why (the first reason)."""
    kept: list[Span] = []
    rejected = 0
    reason = ""
    for span in spans:
        problem = span_problem(span)
        if problem:
            rejected += 1
            if not reason:
                ids = f"span {span.span_id & MAX_SPAN_ID:016x} of trace {span.trace_id & MAX_TRACE_ID:x}"
                reason = f"{ids}: {problem}"
        else:
            kept.append(span)
    return Screened(kept, rejected, reason)
