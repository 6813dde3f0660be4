"""The span and dependency reader, querying Jaeger's indices as Jaeger's v1 reader does.

Differences from Jaeger, each for the storage contract (`storage.base`):
- the search bodies (`queries`) match tags and times exactly; a tag condition whose value reads
  as a number only asks Elasticsearch for the key, and the spans found are checked here
  (`storage.matching`, at most `_SCAN_LIMIT` spans, newest first);
- `num_traces` <= 0 means no limit: the terms aggregation then takes `max_doc_count` traces;
- dependencies: links stored by an external job (`jaeger-dependencies-*`) when the window has
  any, else links computed from the spans of at most `_DEPENDENCY_TRACES` traces of the window.

With `use_aliases` it reads the `*-read` aliases as Jaeger does: the look-back becomes 50 years
(every index in the alias is in reach) and whole-trace reads keep only spans whose
`startTimeMillis` is within 24h of the window read, the one bound an alias leaves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.model import DependencyLink, Span, Trace
from pyjaeger.storage.base import DependencyReader, Operation, SpanReader, StorageError, TraceQuery
from pyjaeger.storage.elasticsearch.config import HOUR_US, ElasticsearchConfig
from pyjaeger.storage.elasticsearch.dbmodel import doc_to_span
from pyjaeger.storage.elasticsearch.indices import DEPENDENCIES, SERVICE, SPAN, index_base
from pyjaeger.storage.elasticsearch.queries import NEWEST_FIRST, conditions, trace_body
from pyjaeger.storage.links import LinkCounts, count_links, to_links
from pyjaeger.storage.matching import span_matches

__all__ = ["ElasticsearchReader"]

_SCAN_LIMIT = 100_000  # spans checked here when a numeric tag value is searched
_DEPENDENCY_TRACES = 10_000  # traces whose spans dependencies are computed from
_MSEARCH_CHUNK = 200  # traces per _msearch request
_MAX_LISTED_INDICES = 60  # past this, a wildcard replaces the list of dated indices
_ALIAS_LOOKBACK_US = 50 * 365 * 24 * HOUR_US  # Jaeger's dawnOfTimeSpanAge


_READ_RETRIES = 4  # of a read that met a transient failure (a shard starting, 429, no connection)
_BACKOFF_S = 0.05


def _transient_status(status: int) -> bool:
    return status == 429 or status >= 500


def _transient(e: Exception) -> bool:
    if isinstance(e, ApiError):
        return _transient_status(int(e.status_code))
    return True  # connection errors and timeouts


def _now_us() -> int:
    return time.time_ns() // 1000


class ElasticsearchReader(SpanReader, DependencyReader):
    def __init__(self, client: AsyncElasticsearch, config: ElasticsearchConfig) -> None:
        self._client = client
        self._config = config
        self._names = config.index_names

    # ----------------------------------------------------------------------------- helpers

    def _span_indices(self, start_us: int, end_us: int) -> str:
        return self._indices(SPAN, start_us, end_us)

    def _indices(self, kind: str, start_us: int, end_us: int) -> str:
        names = self._names
        if kind == SPAN:
            listed = names.span_read_indices(start_us, end_us)
        elif kind == SERVICE:
            listed = names.service_read_indices(start_us, end_us)
        else:
            listed = names.dependencies_read_indices(end_us, end_us - start_us)
        if len(listed) > _MAX_LISTED_INDICES:
            return index_base(names.prefix, kind) + "*"
        return ",".join(listed)

    async def _search(self, index: str, **body: Any) -> dict[str, Any]:
        for attempt in range(_READ_RETRIES + 1):
            try:
                resp = await self._client.search(index=index, ignore_unavailable=True, **body)
            except (TransportError, ApiError) as e:
                if attempt < _READ_RETRIES and _transient(e):
                    await asyncio.sleep(_BACKOFF_S * 2**attempt)
                    continue
                raise StorageError(f"elasticsearch search failed: {e}") from e
            return dict(resp.body)
        raise AssertionError("unreachable")

    async def _msearch(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for attempt in range(_READ_RETRIES + 1):
            try:
                resp = await self._client.msearch(searches=searches)
            except (TransportError, ApiError) as e:
                if attempt < _READ_RETRIES and _transient(e):
                    await asyncio.sleep(_BACKOFF_S * 2**attempt)
                    continue
                raise StorageError(f"elasticsearch msearch failed: {e}") from e
            responses: list[dict[str, Any]] = resp["responses"]
            errors = [r["error"] for r in responses if "error" in r]
            if not errors:
                return responses
            if attempt < _READ_RETRIES and all(
                _transient_status(r.get("status", 500)) for r in responses if "error" in r
            ):
                await asyncio.sleep(_BACKOFF_S * 2**attempt)
                continue
            raise StorageError(f"elasticsearch msearch failed: {errors[0]}")
        raise AssertionError("unreachable")

    def _window(self) -> tuple[int, int]:
        """[now - max span age, now]: what get_trace and the services read."""
        now = _now_us()
        age = _ALIAS_LOOKBACK_US if self._config.use_aliases else self._config.max_span_age
        return now - age, now

    def _lookback(self) -> tuple[int, int]:
        # An hour either side, so that a trace straddling two daily indices is read whole.
        start, end = self._window()
        return start - HOUR_US, end + HOUR_US

    def _spans(self, hits: Iterable[dict[str, Any]]) -> list[Span]:
        rep = self._config.tags_as_fields.dot_replacement
        spans: list[Span] = []
        try:
            for hit in hits:
                source = hit["_source"]
                span = doc_to_span(source, dot_replacement=rep)
                warnings = source.get("warnings")
                if isinstance(warnings, list) and warnings:
                    span.warnings = [str(w) for w in warnings]
                spans.append(span)
        except DecodeError as e:
            raise StorageError(f"unreadable span document: {e}") from e
        return spans

    # ----------------------------------------------------------------------------- services

    async def get_services(self) -> list[str]:
        start, end = self._lookback()
        resp = await self._search(
            self._indices(SERVICE, start, end),
            size=0,
            aggregations={
                "distinct_services": {"terms": {"field": "serviceName", "size": self._config.max_doc_count}}
            },
        )
        buckets = resp.get("aggregations", {}).get("distinct_services", {}).get("buckets", [])
        return sorted(str(b["key"]) for b in buckets)

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        """Names only: Jaeger's Elasticsearch schema stores no span kind (jaeger#1923), so the
        kind is "" and `span_kind` filters nothing."""
        start, end = self._lookback()
        resp = await self._search(
            self._indices(SERVICE, start, end),
            size=0,
            query={"term": {"serviceName": service}},
            aggregations={
                "distinct_operations": {
                    "terms": {"field": "operationName", "size": self._config.max_doc_count}
                }
            },
        )
        buckets = resp.get("aggregations", {}).get("distinct_operations", {}).get("buckets", [])
        return [Operation(str(b["key"]), "") for b in buckets]

    # ----------------------------------------------------------------------------- traces

    async def get_trace(self, trace_id: int) -> Trace | None:
        start, end = self._lookback()
        traces = await self._get_traces([trace_id], self._span_indices(start, end), self._window())
        return traces.get(trace_id)

    async def find_traces(self, query: TraceQuery) -> list[Trace]:
        ids = await self.find_trace_ids(query)
        if not ids:
            return []
        start, end = self._window()
        if query.start_time_min is not None:
            start = min(start, query.start_time_min)
        if query.start_time_max is not None:
            end = max(end, query.start_time_max)
        index = self._span_indices(start - HOUR_US, end + HOUR_US)
        traces = await self._get_traces(ids, index, (start, end))
        return [traces[t] for t in ids if t in traces]

    async def _get_traces(
        self, trace_ids: Sequence[int], index: str, window: tuple[int, int]
    ) -> dict[int, Trace]:
        """Whole traces by id: one `_msearch` per `_MSEARCH_CHUNK` ids, then pages for traces
        with more than `max_doc_count` spans. `window` (µs) bounds the spans only with aliases."""
        size = self._config.max_doc_count
        bounds = window if self._config.use_aliases else None
        found: dict[int, list[Span]] = {}
        for i in range(0, len(trace_ids), _MSEARCH_CHUNK):
            chunk = trace_ids[i : i + _MSEARCH_CHUNK]
            searches: list[dict[str, Any]] = []
            for tid in chunk:
                searches.append({"index": index, "ignore_unavailable": True})
                searches.append(trace_body(tid, size, bounds))
            responses = await self._msearch(searches)
            for tid, result in zip(chunk, responses, strict=True):
                hits = result["hits"]["hits"]
                spans = self._spans(hits)
                while len(hits) == size:
                    page = await self._search(
                        index, **trace_body(tid, size, bounds), search_after=hits[-1]["sort"]
                    )
                    hits = page["hits"]["hits"]
                    spans.extend(self._spans(hits))
                spans = [s for s in spans if s.trace_id == tid]
                if spans:
                    found[tid] = spans
        return {tid: Trace(spans) for tid, spans in found.items()}

    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        """Newest first by the latest matching span's start time (Jaeger's `max(startTime)`)."""
        start, end = self._lookback()
        if query.start_time_min is not None:
            start = query.start_time_min
        if query.start_time_max is not None:
            end = query.start_time_max
        if start > end:
            return []
        index = self._span_indices(start, end)
        must, exact = conditions(query, start, end, self._config.tags_as_fields.dot_replacement)
        limit = query.num_traces if query.num_traces > 0 else self._config.max_doc_count
        if exact:
            return await self._ids_by_aggregation(index, must, limit)
        return await self._ids_by_scan(index, must, query, limit)

    async def _ids_by_aggregation(self, index: str, must: list[dict[str, Any]], limit: int) -> list[int]:
        resp = await self._search(
            index,
            size=0,
            query={"bool": {"must": must}},
            aggregations={
                "traceIDs": {
                    "terms": {"field": "traceID", "size": limit, "order": [{"startTime": "desc"}]},
                    "aggregations": {"startTime": {"max": {"field": "startTime"}}},
                }
            },
        )
        buckets = resp.get("aggregations", {}).get("traceIDs", {}).get("buckets", [])
        ids: list[int] = []
        for b in buckets:
            tid = int(str(b["key"]), 16)
            if tid not in ids:
                ids.append(tid)
        return ids

    async def _ids_by_scan(
        self, index: str, must: list[dict[str, Any]], query: TraceQuery, limit: int
    ) -> list[int]:
        size = self._config.max_doc_count
        ids: dict[int, None] = {}
        scanned = 0
        search_after: list[Any] | None = None
        while scanned < _SCAN_LIMIT:
            extra: dict[str, Any] = {} if search_after is None else {"search_after": search_after}
            resp = await self._search(
                index, size=size, query={"bool": {"must": must}}, sort=NEWEST_FIRST, **extra
            )
            hits = resp["hits"]["hits"]
            scanned += len(hits)
            for span in self._spans(hits):
                if span.trace_id not in ids and span_matches(span, query):
                    ids[span.trace_id] = None
                    if len(ids) >= limit:
                        return list(ids)
            if len(hits) < size:
                break
            search_after = hits[-1]["sort"]
        return list(ids)

    # ----------------------------------------------------------------------------- dependencies

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        stored = await self._stored_dependencies(end_ts, lookback)
        if stored is not None:
            return stored
        start = end_ts - lookback
        if lookback <= 0:
            return []
        index = self._span_indices(start, end_ts)
        resp = await self._search(
            index,
            size=0,
            query={"range": {"startTime": {"gt": start, "lte": end_ts}}},
            aggregations={"traceIDs": {"terms": {"field": "traceID", "size": _DEPENDENCY_TRACES}}},
        )
        buckets = resp.get("aggregations", {}).get("traceIDs", {}).get("buckets", [])
        ids = sorted({int(str(b["key"]), 16) for b in buckets})
        index = self._span_indices(start - HOUR_US, end_ts + HOUR_US)
        traces = await self._get_traces(ids, index, (start, end_ts))
        counts: LinkCounts = {}
        for trace in traces.values():
            count_links(trace.spans, counts)
        return to_links(counts)

    async def _stored_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink] | None:
        """Links an external job (spark-dependencies) stored for the window; None when none."""
        index = self._indices(DEPENDENCIES, end_ts - lookback, end_ts)
        resp = await self._search(
            index,
            size=self._config.max_doc_count,
            query={
                "range": {
                    "timestamp": {
                        "gte": (end_ts - lookback) // 1000,
                        "lte": end_ts // 1000,
                        "format": "epoch_millis",
                    }
                }
            },
        )
        hits = resp["hits"]["hits"]
        if not hits:
            return None
        counts: LinkCounts = {}
        for hit in hits:
            for link in hit["_source"].get("dependencies") or ():
                key = (str(link.get("parent", "")), str(link.get("child", "")))
                counts[key] = counts.get(key, 0) + int(link.get("callCount", 0))
        return to_links(counts)
