"""When one span meets a `TraceQuery`: the search rule of every backend, stated once.

Jaeger's rule: the service and operation are equal when given, start time and duration lie within
the inclusive bounds given, and every tag condition is met by a span tag, a process tag or a log
field with that key whose value, in its string form (Jaeger's `AsString`,
`model.value_as_string`), equals the condition's value. A trace matches when one of its spans
meets every condition at once.

Backends that keep spans packed pass (key, value type, value) triples and test the cheap fields
first (`within`), decoding tags only when a tag condition is left; model spans go through
`span_matches`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyjaeger.model import Span, value_as_string
from pyjaeger.storage.base import TraceQuery

__all__ = ["Triple", "as_string", "within", "has_tag", "span_matches"]

Triple = tuple[str, int, Any]  # (key, ValueType number, value)


def as_string(value_type: int, value: Any) -> str:
    """`value_as_string` with the common case (a string) answered without a call."""
    return value if value_type == 0 else value_as_string(value_type, value)


def within(q: TraceQuery, service: str, operation: str, start: int, duration: int) -> bool:
    """Every condition of `q` but the tags."""
    if q.service_name and service != q.service_name:
        return False
    if q.operation_name and operation != q.operation_name:
        return False
    if q.duration_min is not None and duration < q.duration_min:
        return False
    if q.duration_max is not None and duration > q.duration_max:
        return False
    if q.start_time_min is not None and start < q.start_time_min:
        return False
    return q.start_time_max is None or start <= q.start_time_max


def has_tag(
    key: str, value: str, tag_lists: Iterable[Iterable[Triple]], logs: Iterable[tuple[int, Iterable[Triple]]]
) -> bool:
    """Whether a tag of `tag_lists` (span tags, process tags) or a field of `logs`
    ((timestamp, fields) pairs) has this key and this string form."""
    for tags in tag_lists:
        for k, t, v in tags:
            if k == key and (v if t == 0 else value_as_string(t, v)) == value:
                return True
    for _, fields in logs:
        for k, t, v in fields:
            if k == key and (v if t == 0 else value_as_string(t, v)) == value:
                return True
    return False


def span_matches(span: Span, q: TraceQuery) -> bool:
    """`q` on one model span."""
    if not within(q, span.process.service_name, span.operation_name, span.start_time, span.duration):
        return False
    if not q.tags:
        return True
    tag_lists = (
        [(kv.key, kv.v_type, kv.value) for kv in span.tags],
        [(kv.key, kv.v_type, kv.value) for kv in span.process.tags],
    )
    logs = [(log.timestamp, [(f.key, f.v_type, f.value) for f in log.fields]) for log in span.logs]
    return all(has_tag(key, value, tag_lists, logs) for key, value in q.tags.items())
