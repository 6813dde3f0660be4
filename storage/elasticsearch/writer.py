"""The span writer: one `_bulk` request per `write_spans` call (split past the bulk limits).

Span documents go to the span index of each span's start date; each (service, operation) pair
goes once to the service index with Jaeger's FNV `_id`, remembered in an in-process cache so a
pair is written again only after `_SERVICE_CACHE_TTL` (Jaeger's `--es.service-cache-ttl`, 12h).
Connection errors, 429 and 5xx are retried with backoff, whole requests or the failed items of
a request; what still fails raises `StorageError(transient=True)`, and the collector keeps the
batch and tries again later. Documents the cluster refuses (mapping errors, 400) raise a plain
`StorageError` naming the spans whose documents were refused (`failed`): the collector counts
those as failed saves and the others, which are stored, as saved. A batch written again after a
transient failure may index some span documents twice (they have no `_id`, as in Jaeger); the
query service drops exact duplicates.

One addition to Jaeger's document: a span's warnings, when it has any, as a `warnings` string
array (Jaeger stores none and its reader ignores unknown fields), so that they survive a read.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from pyjaeger.model import Process, Span
from pyjaeger.storage.base import SpanWriter, StorageError
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.dbmodel import process_to_doc, service_doc, span_to_doc

__all__ = ["ElasticsearchWriter", "describe_error"]

_SERVICE_CACHE_TTL = 12 * 3600.0  # s
_SERVICE_CACHE_MAX = 100_000
_BACKOFF_S = 0.1
_RETRY_STATUSES = frozenset({429, 502, 503, 504})

# One bulk line pair: (action+document bytes, service cache key or None, position of its span in
# the write for a span document or -1).
_Item = tuple[bytes, tuple[str, str, str] | None, int]


def describe_error(e: Exception) -> str:
    """A client error for a log line. The transport's own message is often only "Connection
    error"; the socket error at the bottom of the chain says refused, DNS, reset, ..."""
    root: BaseException = e
    while (cause := root.__cause__ or root.__context__) is not None:
        root = cause
    if isinstance(root, OSError) and root is not e:
        return f"{type(e).__name__}: {type(root).__name__}: {root}"
    return repr(e) if isinstance(e, TransportError) else f"{type(e).__name__}: {e}"


@dataclass(slots=True, eq=False)
class _Write:
    """One `write_spans` call, waiting until each of its documents is written or has failed."""

    future: asyncio.Future[None]
    pending: int
    error: StorageError | None = None
    refused: list[int] | None = None  # positions of the spans whose documents were refused

    def settle(self, error: StorageError | None, span: int = -1) -> None:
        # A transient failure wins over a permanent one: the collector then writes the batch
        # again rather than dropping documents that a later attempt could store.
        if error is not None and (self.error is None or (error.transient and not self.error.transient)):
            self.error = error
        if error is not None and not error.transient and span >= 0:
            self.refused = [*(self.refused or ()), span]
        self.pending -= 1
        if self.pending == 0 and not self.future.done():
            if self.error is None:
                self.future.set_result(None)
            elif self.error.transient:
                self.future.set_exception(self.error)
            else:
                refused = sorted(self.refused or ())
                self.future.set_exception(StorageError(str(self.error), failed=refused))


# One bulk line pair waiting to be sent: (action+document bytes, service cache key or None, its
# write, its span's position or -1).
_Doc = tuple[bytes, tuple[str, str, str] | None, _Write, int]


class ElasticsearchWriter(SpanWriter):
    """Group commit: documents of concurrent `write_spans` calls share `_bulk` requests.

    The collector's workers each write one small batch; one `_bulk` per batch makes Elasticsearch
    fsync its translog per request, which bounds ingest (bench/RESULTS.md). Here a request leaves
    as soon as one of `--es.bulk.workers` slots is free, carrying everything that arrived while
    the previous ones were in flight, up to `--es.bulk.actions` documents or `--es.bulk.size`
    bytes. An idle writer sends at once, so light load pays no flush delay; a busy one sends
    requests as large as the limits allow. Each call returns once all its documents are written.
    """

    def __init__(self, client: AsyncElasticsearch, config: ElasticsearchConfig) -> None:
        self._client = client
        self._config = config
        self._names = config.index_names
        self._services: dict[tuple[str, str, str], float] = {}  # (index, service, op) → written at
        self._slots = asyncio.Semaphore(config.bulk_workers)
        self._buffer: deque[_Doc] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._closed = False

    async def write_spans(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        if self._closed:
            raise StorageError("elasticsearch writer is closed")
        items = self._items(spans)
        write = _Write(asyncio.get_running_loop().create_future(), len(items))
        self._buffer.extend((line, key, write, span) for line, key, span in items)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await write.future

    async def close(self) -> None:
        """Stop sending; writes still buffered or in flight fail (the collector counts them)."""
        self._closed = True
        tasks = [t for t in (self._flusher, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closed = StorageError("elasticsearch writer closed before the documents were written")
        while self._buffer:
            doc = self._buffer.popleft()
            doc[2].settle(closed, doc[3])

    async def _flush(self) -> None:
        while self._buffer:
            await self._slots.acquire()
            docs = self._take()
            task = asyncio.create_task(self._send_docs(docs))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def _take(self) -> list[_Doc]:
        """The buffer's head, up to the bulk limits (at least one document)."""
        limit_n, limit_size = self._config.bulk_actions, self._config.bulk_size
        buffer = self._buffer
        docs = [buffer.popleft()]
        size = len(docs[0][0])
        while buffer and len(docs) < limit_n and size + len(buffer[0][0]) <= limit_size:
            doc = buffer.popleft()
            docs.append(doc)
            size += len(doc[0])
        return docs

    async def _send_docs(self, docs: list[_Doc]) -> None:
        try:
            await self._send(docs)
        except asyncio.CancelledError:
            closed = StorageError("elasticsearch writer closed before the documents were written")
            for doc in docs:
                doc[2].settle(closed, doc[3])
            raise
        finally:
            self._slots.release()

    def _items(self, spans: Sequence[Span]) -> list[_Item]:
        taf = self._config.tags_as_fields
        names = self._names
        processes: dict[int, tuple[Process, dict[str, Any]]] = {}
        now = time.monotonic()
        pending: set[tuple[str, str, str]] = set()
        items: list[_Item] = []
        for position, span in enumerate(spans):
            cached = processes.get(id(span.process))
            if cached is None or cached[0] is not span.process:
                cached = processes[id(span.process)] = (span.process, process_to_doc(span.process, taf))
            doc = span_to_doc(span, taf, process_doc=cached[1])
            if span.warnings:
                doc["warnings"] = span.warnings  # not in Jaeger's schema; Jaeger ignores it
            action = {"index": {"_index": names.span_write_index(span.start_time)}}
            items.append((orjson.dumps(action) + b"\n" + orjson.dumps(doc) + b"\n", None, position))
            service_index = names.service_write_index(span.start_time)
            key = (service_index, span.process.service_name, span.operation_name)
            written = self._services.get(key)
            if key in pending or (written is not None and now - written < _SERVICE_CACHE_TTL):
                continue
            pending.add(key)
            doc_id, body = service_doc(span)
            action = {"index": {"_index": service_index, "_id": doc_id}}
            items.append((orjson.dumps(action) + b"\n" + orjson.dumps(body) + b"\n", key, -1))
        return items

    async def _send(self, docs: list[_Doc]) -> None:
        """One `_bulk` for `docs`, retrying what failed transiently; settles every document."""
        attempt = 0
        while True:
            retry: list[_Doc] = []
            last_error = ""
            try:
                body = b"".join(doc[0] for doc in docs)
                # The client's NDJSON serializer sends pre-encoded bytes as they are.
                resp = await self._client.bulk(body=body)  # type: ignore[arg-type]
            except (TransportError, ApiError) as e:
                status = getattr(e, "status_code", None) if isinstance(e, ApiError) else None
                if isinstance(e, ApiError) and status not in _RETRY_STATUSES and (status or 0) < 500:
                    refused = StorageError(f"elasticsearch _bulk failed: {e}")
                    for doc in docs:
                        doc[2].settle(refused, doc[3])
                    return
                retry, last_error = docs, describe_error(e)
            else:
                now = time.monotonic()
                for doc, result in zip(docs, resp["items"], strict=True):
                    outcome = next(iter(result.values()))
                    status = outcome.get("status", 500)
                    if status < 300:
                        if doc[1] is not None:
                            self._remember(doc[1], now)
                        doc[2].settle(None)
                    elif status in _RETRY_STATUSES or status >= 500:
                        retry.append(doc)
                        last_error = str(outcome.get("error"))
                    else:
                        refused = StorageError(f"elasticsearch refused a document: {outcome.get('error')}")
                        doc[2].settle(refused, doc[3])
            if not retry:
                return
            if attempt >= self._config.max_retries:
                failed = StorageError(
                    f"elasticsearch _bulk: {len(retry)} documents not written: {last_error}", transient=True
                )
                for doc in retry:
                    doc[2].settle(failed)
                return
            await asyncio.sleep(_BACKOFF_S * (2**attempt))
            attempt += 1
            docs = retry

    def _remember(self, key: tuple[str, str, str], now: float) -> None:
        services = self._services
        if len(services) >= _SERVICE_CACHE_MAX:
            services.clear()  # rewriting a pair is harmless: its _id makes it idempotent
        services[key] = now
