"""An in-memory store bounded by trace count, with indexes so search is not a scan of everything.

Indexes: trace id → spans; per service, every span's start time (sorted) beside its trace, so a
search walks one service's spans newest first inside the time window and stops at the limit;
per service, the (operation, span kind) pairs. The oldest trace (by first arrival) is evicted when
`max_traces` is exceeded; its index entries are dropped lazily and compacted in bulk.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from pyjaeger.model import DependencyLink, Span, Trace
from pyjaeger.storage.base import (
    DependencyReader,
    Operation,
    SpanReader,
    SpanWriter,
    TraceQuery,
)

__all__ = ["MemoryStore"]

_COMPACT_MIN = 1024


class _TraceRecord:
    __slots__ = ("alive", "spans", "trace_id")

    def __init__(self, trace_id: int) -> None:
        self.trace_id = trace_id
        self.spans: list[Span] = []
        self.alive = True


class _ServiceIndex:
    """Start times of a service's spans, ascending, with the trace each belongs to."""

    __slots__ = ("dead", "operations", "records", "times")

    def __init__(self) -> None:
        self.times = array("q")
        self.records: list[_TraceRecord] = []
        self.dead = 0
        self.operations: dict[tuple[str, str], None] = {}

    def add(self, start: int, rec: _TraceRecord) -> None:
        times = self.times
        if not times or start >= times[-1]:
            times.append(start)
            self.records.append(rec)
        else:
            pos = bisect_right(times, start)
            times.insert(pos, start)
            self.records.insert(pos, rec)

    def compact(self) -> None:
        keep = [i for i, rec in enumerate(self.records) if rec.alive]
        self.times = array("q", (self.times[i] for i in keep))
        self.records = [self.records[i] for i in keep]
        self.dead = 0

    def window(self, start_min: int | None, start_max: int | None) -> Iterable[_TraceRecord]:
        """Live records of spans starting inside the window, newest first (repeats possible)."""
        times, records = self.times, self.records
        lo = 0 if start_min is None else bisect_left(times, start_min)
        hi = len(times) if start_max is None else bisect_right(times, start_max)
        for i in range(hi - 1, lo - 1, -1):
            rec = records[i]
            if rec.alive:
                yield rec


def _span_matches(span: Span, q: TraceQuery, tags: Sequence[tuple[str, str]]) -> bool:
    if q.service_name and span.process.service_name != q.service_name:
        return False
    if q.operation_name and span.operation_name != q.operation_name:
        return False
    if q.duration_min is not None and span.duration < q.duration_min:
        return False
    if q.duration_max is not None and span.duration > q.duration_max:
        return False
    if q.start_time_min is not None and span.start_time < q.start_time_min:
        return False
    if q.start_time_max is not None and span.start_time > q.start_time_max:
        return False
    for key, value in tags:
        if not _has_tag(span, key, value):
            return False
    return True


def _has_tag(span: Span, key: str, value: str) -> bool:
    for kv in span.tags:
        if kv.key == key and kv.as_string() == value:
            return True
    for kv in span.process.tags:
        if kv.key == key and kv.as_string() == value:
            return True
    for log in span.logs:
        for kv in log.fields:
            if kv.key == key and kv.as_string() == value:
                return True
    return False


class MemoryStore(SpanWriter, SpanReader, DependencyReader):
    """Thread-safe; every public method holds one lock for its whole run."""

    def __init__(self, max_traces: int = 100_000) -> None:
        if max_traces < 0:
            raise ValueError("max_traces must be >= 0")
        self.max_traces = max_traces
        self._traces: OrderedDict[int, _TraceRecord] = OrderedDict()
        self._services: dict[str, _ServiceIndex] = {}
        self._lock = threading.Lock()

    async def write_spans(self, spans: Sequence[Span]) -> None:
        with self._lock:
            traces = self._traces
            services = self._services
            for span in spans:
                rec = traces.get(span.trace_id)
                if rec is None:
                    rec = traces[span.trace_id] = _TraceRecord(span.trace_id)
                    if self.max_traces and len(traces) > self.max_traces:
                        self._evict_oldest()
                rec.spans.append(span)
                svc = span.process.service_name
                idx = services.get(svc)
                if idx is None:
                    idx = services[svc] = _ServiceIndex()
                idx.add(span.start_time, rec)
                idx.operations[(span.operation_name, span.span_kind)] = None

    def _evict_oldest(self) -> None:
        _, rec = self._traces.popitem(last=False)
        rec.alive = False
        for span in rec.spans:
            idx = self._services[span.process.service_name]
            idx.dead += 1
            if idx.dead >= _COMPACT_MIN and idx.dead * 2 >= len(idx.times):
                idx.compact()

    async def get_trace(self, trace_id: int) -> Trace | None:
        with self._lock:
            rec = self._traces.get(trace_id)
            if rec is None or not rec.spans:
                return None
            return Trace(list(rec.spans))

    async def get_services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        with self._lock:
            idx = self._services.get(service)
            if idx is None:
                return []
            return [
                Operation(name, kind) for name, kind in idx.operations if not span_kind or kind == span_kind
            ]

    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        with self._lock:
            return [rec.trace_id for rec in self._find(query)]

    async def find_traces(self, query: TraceQuery) -> list[Trace]:
        with self._lock:
            return [Trace(list(rec.spans)) for rec in self._find(query)]

    def _find(self, q: TraceQuery) -> list[_TraceRecord]:
        limit = q.num_traces if q.num_traces > 0 else None
        tags = list(q.tags.items())
        if q.service_name:
            idx = self._services.get(q.service_name)
            if idx is None:
                return []
            candidates: Iterable[_TraceRecord] = idx.window(q.start_time_min, q.start_time_max)
        else:
            candidates = self._all_newest_first(q.start_time_min, q.start_time_max)
        seen: set[int] = set()
        found: list[_TraceRecord] = []
        for rec in candidates:
            rid = id(rec)
            if rid in seen:
                continue
            seen.add(rid)
            if any(_span_matches(s, q, tags) for s in rec.spans):
                found.append(rec)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _all_newest_first(self, start_min: int | None, start_max: int | None) -> list[_TraceRecord]:
        # No service named: order every live trace by its newest span in the window.
        newest: dict[int, tuple[int, _TraceRecord]] = {}
        for idx in self._services.values():
            for rec in idx.window(start_min, start_max):
                key = id(rec)
                if key not in newest:
                    newest[key] = (max(s.start_time for s in rec.spans), rec)
        return [rec for _, rec in sorted(newest.values(), key=lambda t: t[0], reverse=True)]

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        start = end_ts - lookback
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            seen: set[int] = set()
            for idx in self._services.values():
                for rec in idx.window(start + 1, end_ts):
                    if id(rec) in seen:
                        continue
                    seen.add(id(rec))
                    _count_edges(rec.spans, counts)
        return [DependencyLink(p, c, n) for (p, c), n in sorted(counts.items())]

    async def close(self) -> None:
        """Nothing to release; present so every backend closes the same way."""

    def span_count(self) -> int:
        with self._lock:
            return sum(len(r.spans) for r in self._traces.values())


def _count_edges(spans: Sequence[Span], counts: dict[tuple[str, str], int]) -> None:
    service_of = {s.span_id: s.process.service_name for s in spans}
    for span in spans:
        parent = span.parent_span_id
        if not parent:
            continue
        parent_svc = service_of.get(parent)
        child_svc = span.process.service_name
        if parent_svc is not None and parent_svc != child_svc:
            key = (parent_svc, child_svc)
            counts[key] = counts.get(key, 0) + 1
