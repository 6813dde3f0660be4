"""The span writer: one `_bulk` request per `write_spans` call (split past the bulk limits).

Span documents go to the span index of each span's start date; each (service, operation) pair
goes once to the service index with Jaeger's FNV `_id`, remembered in an in-process cache so a
pair is written again only after `_SERVICE_CACHE_TTL` (Jaeger's `--es.service-cache-ttl`, 12h).
Connection errors, 429 and 5xx are retried with backoff, whole requests or the failed items of
a request; what still fails raises `StorageError`, so the collector counts the batch as lost.

One addition to Jaeger's document: a span's warnings, when it has any, as a `warnings` string
array (Jaeger stores none and its reader ignores unknown fields), so that they survive a read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from pyjaeger.model import Process, Span
from pyjaeger.storage.base import SpanWriter, StorageError
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.dbmodel import process_to_doc, service_doc, span_to_doc

__all__ = ["ElasticsearchWriter"]

_SERVICE_CACHE_TTL = 12 * 3600.0  # s
_SERVICE_CACHE_MAX = 100_000
_BACKOFF_S = 0.1
_RETRY_STATUSES = frozenset({429, 502, 503, 504})

# One bulk line pair: (action+document bytes, service cache key or None).
_Item = tuple[bytes, tuple[str, str, str] | None]


class ElasticsearchWriter(SpanWriter):
    def __init__(self, client: AsyncElasticsearch, config: ElasticsearchConfig) -> None:
        self._client = client
        self._config = config
        self._names = config.index_names
        self._services: dict[tuple[str, str, str], float] = {}  # (index, service, op) → written at
        self._slots = asyncio.Semaphore(config.bulk_workers)

    async def write_spans(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        items = self._items(spans)
        for chunk in self._chunks(items):
            async with self._slots:
                await self._send(chunk)

    def _items(self, spans: Sequence[Span]) -> list[_Item]:
        taf = self._config.tags_as_fields
        names = self._names
        processes: dict[int, tuple[Process, dict[str, Any]]] = {}
        now = time.monotonic()
        pending: set[tuple[str, str, str]] = set()
        items: list[_Item] = []
        for span in spans:
            cached = processes.get(id(span.process))
            if cached is None or cached[0] is not span.process:
                cached = processes[id(span.process)] = (span.process, process_to_doc(span.process, taf))
            doc = span_to_doc(span, taf, process_doc=cached[1])
            if span.warnings:
                doc["warnings"] = span.warnings  # not in Jaeger's schema; Jaeger ignores it
            action = {"index": {"_index": names.span_write_index(span.start_time)}}
            items.append((orjson.dumps(action) + b"\n" + orjson.dumps(doc) + b"\n", None))
            service_index = names.service_write_index(span.start_time)
            key = (service_index, span.process.service_name, span.operation_name)
            written = self._services.get(key)
            if key in pending or (written is not None and now - written < _SERVICE_CACHE_TTL):
                continue
            pending.add(key)
            doc_id, body = service_doc(span)
            action = {"index": {"_index": service_index, "_id": doc_id}}
            items.append((orjson.dumps(action) + b"\n" + orjson.dumps(body) + b"\n", key))
        return items

    def _chunks(self, items: list[_Item]) -> list[list[_Item]]:
        limit_n, limit_size = self._config.bulk_actions, self._config.bulk_size
        chunks: list[list[_Item]] = []
        current: list[_Item] = []
        size = 0
        for item in items:
            if current and (len(current) >= limit_n or size + len(item[0]) > limit_size):
                chunks.append(current)
                current, size = [], 0
            current.append(item)
            size += len(item[0])
        if current:
            chunks.append(current)
        return chunks

    async def _send(self, items: list[_Item]) -> None:
        attempt = 0
        last_error = ""
        while True:
            retry: list[_Item] = []
            failed: list[str] = []
            try:
                body = b"".join(line for line, _ in items)
                # The client's NDJSON serializer sends pre-encoded bytes as they are.
                resp = await self._client.bulk(body=body)  # type: ignore[arg-type]
            except (TransportError, ApiError) as e:
                status = getattr(e, "status_code", None) if isinstance(e, ApiError) else None
                if isinstance(e, ApiError) and status not in _RETRY_STATUSES and (status or 0) < 500:
                    raise StorageError(f"elasticsearch _bulk failed: {e}") from e
                retry, last_error = items, str(e)
            else:
                now = time.monotonic()
                for item, result in zip(items, resp["items"], strict=True):
                    outcome = next(iter(result.values()))
                    status = outcome.get("status", 500)
                    if status < 300:
                        if item[1] is not None:
                            self._remember(item[1], now)
                    elif status in _RETRY_STATUSES or status >= 500:
                        retry.append(item)
                        last_error = str(outcome.get("error"))
                    else:
                        failed.append(str(outcome.get("error")))
            if failed:
                raise StorageError(f"elasticsearch refused {len(failed)} documents, first: {failed[0]}")
            if not retry:
                return
            if attempt >= self._config.max_retries:
                raise StorageError(f"elasticsearch _bulk: {len(retry)} documents not written: {last_error}")
            await asyncio.sleep(_BACKOFF_S * (2**attempt))
            attempt += 1
            items = retry

    def _remember(self, key: tuple[str, str, str], now: float) -> None:
        services = self._services
        if len(services) >= _SERVICE_CACHE_MAX:
            services.clear()  # rewriting a pair is harmless: its _id makes it idempotent
        services[key] = now
