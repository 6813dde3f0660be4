"""A SpanReader decorator that records Jaeger's query storage-read metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pyjaeger.metrics import QueryMetrics
from pyjaeger.model import Trace
from pyjaeger.storage.base import Operation, SpanReader, TraceQuery

__all__ = ["InstrumentedReader"]

T = TypeVar("T")


class InstrumentedReader(SpanReader):
    def __init__(self, inner: SpanReader, metrics: QueryMetrics) -> None:
        self._inner = inner
        self._m = metrics

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]], count: Callable[[T], int]) -> T:
        t0 = time.perf_counter()
        try:
            result = await call()
        except Exception:
            self._m.requests.labels(operation, "err").inc()
            self._m.latency.labels(operation, "err").observe(time.perf_counter() - t0)
            raise
        self._m.requests.labels(operation, "ok").inc()
        self._m.latency.labels(operation, "ok").observe(time.perf_counter() - t0)
        self._m.responses.labels(operation).observe(count(result))
        return result

    async def get_trace(self, trace_id: int) -> Trace | None:
        return await self._timed(
            "get_trace", lambda: self._inner.get_trace(trace_id), lambda t: 0 if t is None else 1
        )

    async def get_services(self) -> list[str]:
        return await self._timed("get_services", self._inner.get_services, len)

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        return await self._timed(
            "get_operations", lambda: self._inner.get_operations(service, span_kind), len
        )

    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        return await self._timed("find_trace_ids", lambda: self._inner.find_trace_ids(query), len)

    async def find_traces(self, query: TraceQuery) -> list[Trace]:
        return await self._timed("find_traces", lambda: self._inner.find_traces(query), len)
