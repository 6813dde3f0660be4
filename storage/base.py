"""The storage seam: every backend implements these small interfaces.

All methods are coroutines so that network backends (Elasticsearch) and in-process ones (memory,
sqlite) look the same to the collector and the query service.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyjaeger.model import DependencyLink, Span, Trace

__all__ = [
    "StoredBatch",
    "StoredForm",
    "TraceQuery",
    "Operation",
    "SpanWriter",
    "SpanReader",
    "DependencyReader",
    "StorageError",
    "DEFAULT_NUM_TRACES",
]

DEFAULT_NUM_TRACES = 100


class StorageError(Exception):
    """A backend failed; the query API answers 500.

    `transient` says the backend is unreachable or overloaded (connection refused or timed out,
    429, 5xx) after the backend's own retries: the same request may succeed later, so the
    collector keeps the batch and retries it. Otherwise the request itself was refused (a
    mapping error, 400, bad credentials) and the collector counts the spans as failed saves,
    and only those (`failed`).
    """

    def __init__(
        self, message: str = "", *, transient: bool = False, failed: Sequence[int] | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        # Of a permanent write failure: the positions (in the batch written) of the spans not
        # stored, when the backend knows them. None means the write was all or nothing: none of
        # the batch was stored, and the collector may write parts of it again.
        self.failed = failed


@dataclass(slots=True)
class TraceQuery:
    """Search conditions; a trace matches when at least one span meets all of them at once.

    Tags are matched against span tags, process tags and log fields by the value's string
    form (`KeyValue.as_string`). Times are µs since epoch, inclusive on both ends; durations are
    µs, inclusive. `num_traces` <= 0 means no limit.
    """

    service_name: str = ""
    operation_name: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    start_time_min: int | None = None
    start_time_max: int | None = None
    duration_min: int | None = None
    duration_max: int | None = None
    num_traces: int = DEFAULT_NUM_TRACES


@dataclass(slots=True, frozen=True)
class Operation:
    name: str
    span_kind: str  # "" when the spans carry no valid span.kind


class SpanWriter(abc.ABC):
    @abc.abstractmethod
    async def write_spans(self, spans: Sequence[Span]) -> None:
        """Store a batch. Spans of one trace may arrive over many calls, in any order.

        A write that fails for good either says which spans it did not store
        (`StorageError.failed`) or stored none of them: the collector relies on this to lose
        only the spans at fault."""


@dataclass(slots=True)
class StoredBatch:
    """Spans decoded straight into a backend's stored form (`StoredForm`), with what the
    collector counts of them, so that the process owning the store only indexes them."""

    records: list[Any]  # the backend's own form, one entry a span
    spans: dict[tuple[str, bool], int] = field(default_factory=dict)  # (service, debug) → spans
    roots: dict[tuple[str, bool, str], int] = field(default_factory=dict)  # + sampler type → traces
    rejected: int = 0  # spans refused, as a codec refuses them
    first_reason: str = ""

    def __len__(self) -> int:
        return len(self.records)


class StoredForm(abc.ABC):
    """A backend that can take some wire formats straight into its stored form.

    `stored_decoder(wire)` is a function from a request body to a `StoredBatch` (no state of
    the store but caches: it may run in another process), or None when the backend takes that
    format only as model spans. `write_stored` indexes what such a function made. Decoding there
    must refuse what the wire format's codec refuses (DecodeError) and produce spans that read
    back as the codec's would; it may decline a body (None), which then takes the codec's path.
    """

    @abc.abstractmethod
    def stored_decoder(self, wire: str) -> Callable[[bytes], StoredBatch | None] | None:
        """For "otlp-proto" (ExportTraceServiceRequest), "thrift-batch" (a bare Jaeger Batch,
        binary protocol) and "thrift-agent" (an agent datagram), or None."""

    @abc.abstractmethod
    async def write_stored(self, batch: StoredBatch) -> None:
        """Index a batch `stored_decoder` made; all or nothing, as `write_spans`."""


class SpanReader(abc.ABC):
    @abc.abstractmethod
    async def get_trace(self, trace_id: int) -> Trace | None:
        """All stored spans of the trace, or None when there are none."""

    @abc.abstractmethod
    async def get_services(self) -> list[str]:
        """Service names seen, sorted."""

    @abc.abstractmethod
    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        """(name, span kind) pairs of the service; span_kind '' means every kind."""

    @abc.abstractmethod
    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        """Ids of matching traces, newest first, at most `query.num_traces`."""

    async def find_traces(self, query: TraceQuery) -> list[Trace]:
        """Matching traces whole (every span, not only those that matched), newest first."""
        traces = []
        for tid in await self.find_trace_ids(query):
            trace = await self.get_trace(tid)
            if trace is not None:
                traces.append(trace)
        return traces


class DependencyReader(abc.ABC):
    @abc.abstractmethod
    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        """Parent-service → child-service call counts from spans in (end_ts - lookback, end_ts].

        Both arguments are µs.
        """
