"""An in-memory store bounded by trace count, with indexes so search is not a scan of everything.

Spans are kept packed (`packed.py`: tuples the garbage collector does not walk). Indexes: trace
id → spans; per service, every span's start time (sorted) beside its trace's sequence number, so a
search walks one service's spans newest first inside the time window and stops at the limit;
per service, the (operation, span kind) pairs. The oldest trace (by first arrival) is evicted
when `max_traces` is exceeded: its spans are released at once, its index entries are skipped and
compacted away in bulk, and a service or operation none of the stored spans has any more is
forgotten, so a flood of names cannot outgrow the trace bound (Jaeger's memory store keeps them).

A write packs every span before it indexes any: a span that cannot be packed fails the write
with nothing of it stored, as the `SpanWriter` contract asks.
"""

from __future__ import annotations

import functools
import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pyjaeger.model import DependencyLink, Span, Trace
from pyjaeger.storage.base import (
    DependencyReader,
    Operation,
    SpanReader,
    SpanWriter,
    StoredBatch,
    StoredForm,
    TraceQuery,
)
from pyjaeger.storage.links import count_link_nodes, to_links
from pyjaeger.storage.matching import as_string, has_tag, within
from pyjaeger.storage.memory.packed import (
    BLOB,
    DURATION,
    KIND,
    OPERATION,
    PROCESS,
    SPAN_ID,
    START,
    TRACE_ID,
    Packed,
    Packer,
    parent_span_id,
    unpack_details,
    unpack_spans,
)
from pyjaeger.storage.memory.wire import agent_batch, may_have_key, otlp_batch, otlp_tag_values, thrift_batch

__all__ = ["MemoryStore"]

_WIRE_DECODERS = {"otlp-proto": otlp_batch, "thrift-batch": thrift_batch, "thrift-agent": agent_batch}

_COMPACT_MIN = 1024


class _TraceRecord:
    __slots__ = ("seq", "spans", "trace_id")

    def __init__(self, trace_id: int, seq: int) -> None:
        self.trace_id = trace_id
        self.seq = seq
        self.spans: list[Packed] = []


class _Bucket:
    """One time slice of a service's spans: start times beside their trace's sequence number.

    Appends are O(1); a bucket that received spans out of order is sorted the next time a search
    reads it, so late spans never cost a shift of the whole index.
    """

    __slots__ = ("seqs", "sorted", "times")

    def __init__(self) -> None:
        self.times = array("q")
        self.seqs = array("q")
        self.sorted = True

    def add(self, start: int, seq: int) -> None:
        if self.sorted and self.times and start < self.times[-1]:
            self.sorted = False
        self.times.append(start)
        self.seqs.append(seq)

    def sort(self) -> None:
        order = sorted(range(len(self.times)), key=self.times.__getitem__)
        self.times = array("q", [self.times[i] for i in order])
        self.seqs = array("q", [self.seqs[i] for i in order])
        self.sorted = True


_BUCKET_BITS = 24  # ~16.8 s of µs per bucket


class _ServiceIndex:
    """A service's spans by start time, in buckets kept in key order, plus its operations with
    how many stored spans have each."""

    __slots__ = ("buckets", "dead", "keys", "operations", "size")

    def __init__(self) -> None:
        self.buckets: dict[int, _Bucket] = {}
        self.keys: list[int] = []  # bucket keys, ascending
        self.size = 0
        self.dead = 0
        self.operations: dict[tuple[str, str], int] = {}

    def add(self, start: int, seq: int) -> None:
        key = start >> _BUCKET_BITS
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket()
            if not self.keys or key > self.keys[-1]:
                self.keys.append(key)
            else:
                insort(self.keys, key)
        bucket.add(start, seq)
        self.size += 1

    def compact(self, live: dict[int, _TraceRecord]) -> None:
        for key in list(self.keys):
            b = self.buckets[key]
            keep = [i for i, seq in enumerate(b.seqs) if seq in live]
            if not keep:
                del self.buckets[key]
                continue
            b.times = array("q", [b.times[i] for i in keep])
            b.seqs = array("q", [b.seqs[i] for i in keep])
        self.keys = [k for k in self.keys if k in self.buckets]
        self.size = sum(len(b.times) for b in self.buckets.values())
        self.dead = 0

    def window(self, start_min: int | None, start_max: int | None) -> Iterator[int]:
        """Sequence numbers of spans starting inside the window, newest first (repeats possible)."""
        keys = self.keys
        lo_key = 0 if start_min is None else bisect_left(keys, start_min >> _BUCKET_BITS)
        hi_key = len(keys) if start_max is None else bisect_right(keys, start_max >> _BUCKET_BITS)
        for k in range(hi_key - 1, lo_key - 1, -1):
            b = self.buckets[keys[k]]
            if not b.sorted:
                b.sort()
            times, seqs = b.times, b.seqs
            lo = 0 if start_min is None else bisect_left(times, start_min)
            hi = len(times) if start_max is None else bisect_right(times, start_max)
            for i in range(hi - 1, lo - 1, -1):
                yield seqs[i]

    def entries(self, start_min: int | None, start_max: int | None) -> Iterator[tuple[int, int]]:
        """(start time, sequence number) of spans inside the window, in no particular order."""
        for b in self.buckets.values():
            for t, seq in zip(b.times, b.seqs, strict=True):
                if (start_min is None or t >= start_min) and (start_max is None or t <= start_max):
                    yield t, seq


def _span_matches(p: Packed, q: TraceQuery, tags: Sequence[tuple[str, str]]) -> bool:
    if not within(q, p[PROCESS][0], p[OPERATION], p[START], p[DURATION]):
        return False
    if not tags:
        return True
    blob = p[BLOB]
    process_tags = (p[PROCESS][1],)
    details = None
    for key, value in tags:
        if has_tag(key, value, process_tags, ()):
            continue
        if not may_have_key(blob, key):
            return False
        found = otlp_tag_values(blob, key)
        if found is not None:
            if not any(as_string(t, v) == value for t, v in found):
                return False
            continue
        if details is None:
            details = unpack_details(p)  # only now: the blob costs a decode
        if not has_tag(key, value, (details[0],), details[1]):
            return False
    return True


class MemoryStore(SpanWriter, StoredForm, SpanReader, DependencyReader):
    """Thread-safe; every public method holds one lock for its whole run and never awaits inside."""

    def __init__(self, max_traces: int = 100_000) -> None:
        if max_traces < 0:
            raise ValueError("max_traces must be >= 0")
        self.max_traces = max_traces
        self._traces: OrderedDict[int, _TraceRecord] = OrderedDict()
        self._by_seq: dict[int, _TraceRecord] = {}
        self._services: dict[str, _ServiceIndex] = {}
        self._packer = Packer()
        self._next_seq = 0
        self._lock = threading.Lock()

    async def write_spans(self, spans: Sequence[Span]) -> None:
        pack = self._packer.pack
        with self._lock:
            self._index([pack(span) for span in spans])  # all or nothing: indexing cannot fail

    def stored_decoder(self, wire: str) -> Callable[[bytes], StoredBatch | None] | None:
        decode = _WIRE_DECODERS.get(wire)
        return None if decode is None else functools.partial(decode, pack_process=self._packer.process)

    async def write_stored(self, batch: StoredBatch) -> None:
        records = batch.records
        intern = self._packer.intern
        with self._lock:
            last: Any = None
            shared: Any = None
            for i, p in enumerate(records):
                # Made in this process, records share packed processes already; made elsewhere
                # (a worker process) they arrive as copies, shared again here.
                process = p[PROCESS]
                if process is not last:
                    last, shared = process, intern(process)
                if shared is not process:
                    records[i] = (*p[:PROCESS], shared, *p[PROCESS + 1 :])
            self._index(records)

    def _index(self, packed: list[Packed]) -> None:
        """Called with the lock held."""
        traces, by_seq, services = self._traces, self._by_seq, self._services
        for p in packed:
            trace_id = p[TRACE_ID]
            rec = traces.get(trace_id)
            if rec is None:
                rec = traces[trace_id] = by_seq[self._next_seq] = _TraceRecord(trace_id, self._next_seq)
                self._next_seq += 1
                if self.max_traces and len(traces) > self.max_traces:
                    self._evict_oldest()
            rec.spans.append(p)
            svc = p[PROCESS][0]
            idx = services.get(svc)
            if idx is None:
                idx = services[svc] = _ServiceIndex()
            idx.add(p[START], rec.seq)
            ops = idx.operations
            op = (p[OPERATION], p[KIND])
            ops[op] = ops.get(op, 0) + 1

    def _evict_oldest(self) -> None:
        _, rec = self._traces.popitem(last=False)
        del self._by_seq[rec.seq]
        spans, rec.spans = rec.spans, []
        services = self._services
        for p in spans:
            svc = p[PROCESS][0]
            idx = services[svc]
            ops = idx.operations
            op = (p[OPERATION], p[KIND])
            left = ops[op] - 1
            if left:
                ops[op] = left
                idx.dead += 1
                if idx.dead >= _COMPACT_MIN and idx.dead * 2 >= idx.size:
                    idx.compact(self._by_seq)
            else:
                del ops[op]
                if not ops:  # no stored span of this service is left: its whole index goes
                    del services[svc]
                else:
                    idx.dead += 1

    async def get_trace(self, trace_id: int) -> Trace | None:
        with self._lock:
            rec = self._traces.get(trace_id)
            if rec is None or not rec.spans:
                return None
            packed = list(rec.spans)
        return Trace(unpack_spans(packed))

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
            found = [list(rec.spans) for rec in self._find(query)]
        return [Trace(unpack_spans(spans)) for spans in found]

    def _find(self, q: TraceQuery) -> list[_TraceRecord]:
        limit = q.num_traces if q.num_traces > 0 else None
        tags = list(q.tags.items())
        if q.service_name:
            idx = self._services.get(q.service_name)
            if idx is None:
                return []
            candidates: Iterator[int] | list[int] = idx.window(q.start_time_min, q.start_time_max)
        else:
            candidates = self._all_newest_first(q.start_time_min, q.start_time_max)
        by_seq = self._by_seq
        seen: set[int] = set()
        found: list[_TraceRecord] = []
        for seq in candidates:
            if seq in seen:
                continue
            seen.add(seq)
            rec = by_seq.get(seq)
            if rec is None:
                continue
            if any(_span_matches(p, q, tags) for p in rec.spans):
                found.append(rec)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _all_newest_first(self, start_min: int | None, start_max: int | None) -> list[int]:
        # No service named: order every live trace by its newest span in the window.
        newest: dict[int, int] = {}
        for idx in self._services.values():
            for t, seq in idx.entries(start_min, start_max):
                if seq in self._by_seq and t > newest.get(seq, -(1 << 63)):
                    newest[seq] = t
        return sorted(newest, key=newest.__getitem__, reverse=True)

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        start = end_ts - lookback
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            seen: set[int] = set()
            for idx in self._services.values():
                for seq in idx.window(start + 1, end_ts):
                    rec = self._by_seq.get(seq)
                    if rec is None or seq in seen:
                        continue
                    seen.add(seq)
                    nodes = [(p[SPAN_ID], parent_span_id(p), p[PROCESS][0]) for p in rec.spans]
                    count_link_nodes(nodes, counts)
        return to_links(counts)

    async def close(self) -> None:
        """Nothing to release; present so every backend closes the same way."""

    def span_count(self) -> int:
        with self._lock:
            return sum(len(r.spans) for r in self._traces.values())
