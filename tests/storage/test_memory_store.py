"""What the memory store promises beyond the conformance suite: how it holds spans."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from pyjaeger.storage.base import TraceQuery
from pyjaeger.storage.memory import MemoryStore

T0 = 1_700_000_000_000_000


async def test_stored_spans_are_not_tracked_by_the_garbage_collector(span: Callable[..., Any]) -> None:
    store = MemoryStore()
    spans = [span(1, i, tags={"k": "v", "n": 1}, process_tags={"h": "x"}) for i in range(1, 4)]
    await store.write_spans(spans)
    # A nested tuple is untracked once its members are: one collection per level of nesting.
    for _ in range(5):
        gc.collect()
    packed = store._traces[1].spans
    assert packed and not any(gc.is_tracked(p) for p in packed)


async def test_eviction_releases_spans_and_index_entries(span: Callable[..., Any]) -> None:
    store = MemoryStore(max_traces=10)
    for t in range(1, 3001):
        await store.write_spans([span(t, 1, start=T0 + t), span(t, 2, start=T0 + t)])
    assert store.span_count() == 20
    idx = store._services["svc"]
    assert idx.size < 3 * 1024  # dead entries are compacted away in bulk
    found = await store.find_trace_ids(TraceQuery(service_name="svc", num_traces=0))
    assert found == list(range(3000, 2990, -1))


async def test_late_spans_are_found_in_time_order(span: Callable[..., Any]) -> None:
    store = MemoryStore()
    # Arrival order differs from start order, inside one time bucket and across buckets.
    starts = [T0 + 5, T0 + 1, T0 + 3, T0 + 60_000_000, T0 + 2, T0 - 60_000_000]
    for t, start in enumerate(starts, 1):
        await store.write_spans([span(t, 1, start=start)])
    found = await store.find_trace_ids(TraceQuery(service_name="svc", num_traces=0))
    assert found == [4, 1, 3, 5, 2, 6]
    window = TraceQuery(service_name="svc", start_time_min=T0 + 2, start_time_max=T0 + 5, num_traces=2)
    assert await store.find_trace_ids(window) == [1, 3]
