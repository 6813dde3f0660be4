"""The query service: storage reads plus the adjusters Jaeger applies before rendering."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.model import DependencyLink, Trace
from pyjaeger.query.adjusters import adjust_trace
from pyjaeger.query.summaries import TraceSummary, summarize
from pyjaeger.storage.base import DependencyReader, Operation, SpanReader, TraceQuery

__all__ = ["QueryService"]


@dataclass(slots=True)
class QueryService:
    reader: SpanReader
    dependencies: DependencyReader

    async def get_trace(
        self, trace_id: int, raw: bool = False, start: int | None = None, end: int | None = None
    ) -> Trace | None:
        """The trace, adjusted unless `raw`. `start`/`end` (µs) are Jaeger's lookup hints: a
        backend may narrow its search with them but answers with the whole trace; every
        backend here finds a trace by id alone, so they are accepted and not needed."""
        trace = await self.reader.get_trace(trace_id)
        if trace is None or raw:
            return trace
        return adjust_trace(trace)

    async def find_traces(self, query: TraceQuery, raw: bool = False) -> list[Trace]:
        traces = await self.reader.find_traces(query)
        return traces if raw else [adjust_trace(t) for t in traces]

    async def find_trace_summaries(self, query: TraceQuery) -> list[TraceSummary]:
        """A summary per matching trace, from the adjusted trace as Jaeger sums them up."""
        return [summarize(t) for t in await self.find_traces(query)]

    async def get_services(self) -> list[str]:
        return await self.reader.get_services()

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        return await self.reader.get_operations(service, span_kind)

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        return await self.dependencies.get_dependencies(end_ts, lookback)
