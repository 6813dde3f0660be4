"""The span processor: a queue bounded in spans, workers that write batches to storage.

Receivers call `submit`, which never blocks: a full queue refuses the whole batch so the
receiver can answer with what clients retry (HTTP 503, gRPC RESOURCE_EXHAUSTED). Every refusal is
counted; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence

from pyjaeger.metrics import CollectorMetrics
from pyjaeger.model import FLAG_DEBUG, Span
from pyjaeger.storage.base import SpanWriter

__all__ = ["SpanProcessor", "QueueFullError"]

log = logging.getLogger(__name__)

# A worker merges queued batches into one storage write up to this many spans.
_MAX_WRITE_SPANS = 2000


class QueueFullError(Exception):
    """The queue has no room for the batch; the client should retry later."""


class SpanProcessor:
    def __init__(
        self,
        writer: SpanWriter,
        metrics: CollectorMetrics,
        *,
        queue_size: int = 2000,
        num_workers: int = 50,
    ) -> None:
        self._writer = writer
        self._metrics = metrics
        self.capacity = queue_size
        self._num_workers = num_workers
        self._items: deque[tuple[float, list[Span]]] = deque()
        self._queued_spans = 0
        self._in_flight = 0
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        metrics.queue_capacity.set(queue_size)

    @property
    def queue_length(self) -> int:
        return self._queued_spans

    def check_room(self) -> None:
        """Raise QueueFullError when nothing more can be queued, so receivers refuse a request
        before spending CPU decoding it."""
        if self._closed or (self._queued_spans >= self.capacity):
            raise QueueFullError(f"collector queue is full ({self._queued_spans}/{self.capacity} spans)")

    def submit(self, spans: list[Span], fmt: str, transport: str) -> None:
        """Queue a decoded batch; raises QueueFullError (after counting it) when there is no room."""
        if not spans:
            return
        self._sanitize(spans)
        self._count_received(spans, fmt, transport)
        n = len(spans)
        # An oversize batch still goes into an empty queue, or it could never be accepted.
        if self._closed or (self._queued_spans + n > self.capacity and self._queued_spans > 0):
            self._metrics.spans_dropped.inc(n)
            raise QueueFullError(f"collector queue is full ({self._queued_spans}/{self.capacity} spans)")
        self._items.append((time.monotonic(), spans))
        self._queued_spans += n
        self._metrics.queue_length.set(self._queued_spans)
        self._idle.clear()
        self._ready.set()

    def count_rejected(self, n: int, fmt: str, transport: str) -> None:
        """Spans a codec refused as invalid (partial success)."""
        if n:
            self._metrics.spans_rejected.labels("false", fmt, "", transport).inc(n)

    @staticmethod
    def _sanitize(spans: list[Span]) -> None:
        for span in spans:
            if not span.process.service_name:
                span.process.service_name = "empty-service-name"
            if span.duration < 0:
                span.duration = 0

    def _count_received(self, spans: Sequence[Span], fmt: str, transport: str) -> None:
        m = self._metrics
        by_key: dict[tuple[str, str], int] = {}
        for span in spans:
            key = (span.process.service_name, "true" if span.flags & FLAG_DEBUG else "false")
            by_key[key] = by_key.get(key, 0) + 1
            if not span.references:
                kv = span.tag("sampler.type")
                sampler = kv.value if kv is not None and isinstance(kv.value, str) else ""
                if sampler not in ("probabilistic", "lowerbound", "ratelimiting", "const"):
                    sampler = "unrecognized"
                m.traces_received.labels(key[1], fmt, sampler, m.svc_label(key[0]), transport).inc()
        for (svc, debug), n in by_key.items():
            m.spans_received.labels(debug, fmt, m.svc_label(svc), transport).inc(n)

    async def start(self) -> None:
        if self._workers:
            return
        self._closed = False
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._num_workers)]

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new batches, write out what is queued (within `timeout`), stop the workers."""
        self._closed = True
        if self._workers:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                log.error("shutdown: %d spans still queued after %.1fs", self._queued_spans, timeout)
            for w in self._workers:
                w.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []

    async def _work(self) -> None:
        m = self._metrics
        while True:
            if not self._items:
                self._ready.clear()
                await self._ready.wait()
                continue
            now = time.monotonic()
            enq, batch = self._items.popleft()
            m.in_queue_latency.observe(now - enq)
            while self._items and len(batch) + len(self._items[0][1]) <= _MAX_WRITE_SPANS:
                enq, more = self._items.popleft()
                m.in_queue_latency.observe(now - enq)
                batch = batch + more
            self._in_flight += 1
            try:
                await self._write(batch)
            finally:
                self._in_flight -= 1
                self._queued_spans -= len(batch)
                m.queue_length.set(self._queued_spans)
                if not self._items and not self._in_flight:
                    self._idle.set()

    async def _write(self, batch: list[Span]) -> None:
        m = self._metrics
        t0 = time.perf_counter()
        result = "ok"
        try:
            await self._writer.write_spans(batch)
        except Exception:
            result = "err"
            log.exception("failed to write %d spans to storage", len(batch))
        m.save_latency.observe(time.perf_counter() - t0)
        m.batch_size.set(len(batch))
        by_svc: dict[tuple[str, str], int] = {}
        for span in batch:
            key = (span.process.service_name, "true" if span.flags & FLAG_DEBUG else "false")
            by_svc[key] = by_svc.get(key, 0) + 1
        for (svc, debug), n in by_svc.items():
            m.spans_saved.labels(debug, result, m.svc_label(svc)).inc(n)
