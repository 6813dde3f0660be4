"""The span processor: a queue bounded in spans, workers that write batches to storage.

Receivers call `accept`, which never blocks: it refuses the spans no backend can store
(`codecs.limits`: counted in `jaeger_collector_spans_rejected`, logged, and returned so the
receiver can say so), and a full queue refuses the whole batch so the receiver can answer with what
clients retry (HTTP 503, gRPC RESOURCE_EXHAUSTED). Every refusal is counted; nothing is dropped
silently.

A span that `submit` accepted (and so was acknowledged to its client) is not given up because
storage is away. When a write fails with a transient `StorageError` (the backend unreachable,
429, 5xx, after the backend's own retries) the worker keeps the batch and writes it again with
backoff (1 s doubling to 10 s) until it goes through; the batch keeps its room in the queue, so
during an outage the queue fills and the receivers refuse new batches, which clients retry or
count as their own drops. Jaeger's collector instead counts such a batch as failed and drops it
(its queue keeps accepting, and every span of the outage is lost); here
`jaeger_collector_spans_saved_by_svc{result="err"}` counts only permanent failures (documents
the backend refuses, such as mapping errors), which are dropped as in Jaeger. A batch written
again may be stored twice in part (delivery is at least once). On `stop`, what is still
unwritten when the drain timeout ends is counted in `jaeger_collector_spans_dropped` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import Counter

from pyjaeger.codecs.limits import Screened, screen
from pyjaeger.collector.config import CollectorConfig
from pyjaeger.collector.intake import Intake, QueueFullError
from pyjaeger.metrics import CollectorMetrics
from pyjaeger.model import FLAG_DEBUG, Span
from pyjaeger.storage.base import SpanWriter, StorageError, StoredBatch, StoredForm
from pyjaeger.storage.memory.packed import unpack_spans

__all__ = ["SpanProcessor", "QueueFullError", "sanitize", "received_counts"]

log = logging.getLogger(__name__)

_DEFAULTS = CollectorConfig()
# A worker merges queued batches into one storage write up to this many spans.
_MAX_WRITE_SPANS = 2000
# Backoff between writes of a batch that failed transiently: first delay, cap (s).
_RETRY_BACKOFF = (1.0, 10.0)
# While storage stays away, one WARNING this often (s) rather than one per failed write; the
# same for spans refused at intake.
_OUTAGE_LOG_INTERVAL = 30.0
_REJECT_LOG_INTERVAL = 10.0


class SpanProcessor(Intake):
    def __init__(
        self,
        writer: SpanWriter,
        metrics: CollectorMetrics,
        *,
        queue_size: int = _DEFAULTS.queue_size,
        num_workers: int = _DEFAULTS.num_workers,
        retry_backoff: tuple[float, float] = _RETRY_BACKOFF,
    ) -> None:
        self._writer = writer
        self._metrics = metrics
        self.capacity = queue_size
        self._num_workers = num_workers
        self._items: deque[tuple[float, list[Span] | StoredBatch]] = deque()
        # A backend that takes some wire formats straight into its stored form (StoredForm).
        self._stored = writer if isinstance(writer, StoredForm) else None
        self._queued_spans = 0
        self._in_flight = 0
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self._retry_backoff = retry_backoff
        self._outage_since: float | None = None
        self._outage_logged = 0.0
        self._rejects_logged = -_REJECT_LOG_INTERVAL
        self._rejects_unlogged = 0
        self._children: dict[tuple[Any, ...], Counter] = {}
        metrics.queue_capacity.set(queue_size)

    @property
    def queue_length(self) -> int:
        return self._queued_spans

    def check_room(self, fmt: str, transport: str) -> None:
        """Raise QueueFullError (after counting the refused request) when nothing more can be
        queued, so receivers refuse a request before spending CPU decoding it."""
        if self._closed or (self._queued_spans >= self.capacity):
            self.count_refused(fmt, transport)
            raise QueueFullError(f"collector queue is full ({self._queued_spans}/{self.capacity} spans)")

    async def accept(self, spans: list[Span], fmt: str, transport: str) -> Screened:
        return self.take(spans, fmt, transport)

    def take(self, spans: list[Span], fmt: str, transport: str) -> Screened:
        """`accept`, for callers that cannot await (the UDP servers in this process)."""
        screened = screen(spans)
        if screened.rejected:
            self.count_rejected(screened.rejected, fmt, transport)
            self._log_rejected(screened.rejected, screened.reason, fmt, transport)
        self.submit(screened.spans, fmt, transport)
        return screened

    def _log_rejected(self, rejected: int, reason: str, fmt: str, transport: str) -> None:
        # A stream of bad spans must not become a stream of log lines: one WARNING now and then,
        # saying how many went unlogged since.
        self._rejects_unlogged += rejected
        now = time.monotonic()
        if now - self._rejects_logged >= _REJECT_LOG_INTERVAL:
            log.warning(
                "refused %d span(s) that cannot be stored (%s over %s; %d since the last such message),"
                " first: %s",
                rejected,
                fmt,
                transport,
                self._rejects_unlogged,
                reason,
            )
            self._rejects_logged = now
            self._rejects_unlogged = 0

    def stored_decoder(self, wire: str) -> Callable[[bytes], StoredBatch | None] | None:
        """The storage's own decoder of a wire format into its stored form, if it has one: the
        receiver decodes with it instead of the codec (`storage.base.StoredForm`)."""
        return self._stored.stored_decoder(wire) if self._stored is not None else None

    async def accept_stored(self, batch: StoredBatch, fmt: str, transport: str) -> None:
        self.take_stored(batch, fmt, transport)

    def take_stored(self, batch: StoredBatch, fmt: str, transport: str) -> None:
        """`accept_stored`, for callers that cannot await. The batch's decoder sanitized it and
        its wire format cannot carry what the limits screen refuses."""
        if batch.rejected:
            self.count_rejected(batch.rejected, fmt, transport)
            if batch.first_reason:
                self._log_rejected(batch.rejected, batch.first_reason, fmt, transport)
        if not batch.records:
            return
        self._count_batch(batch.spans, batch.roots, fmt, transport)
        self._enqueue(batch)

    def submit(self, spans: list[Span], fmt: str, transport: str) -> None:
        """Queue a decoded batch; raises QueueFullError (after counting it) when there is no room."""
        if not spans:
            return
        self._sanitize(spans)
        self._count_received(spans, fmt, transport)
        self._enqueue(spans)

    def _enqueue(self, spans: list[Span] | StoredBatch) -> None:
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

    def count_refused(self, fmt: str, transport: str) -> None:
        """A request refused before decoding because the queue was full (an ingest worker saw it
        full in this processor's last answer)."""
        self._metrics.requests_refused.labels(fmt, transport).inc()

    def count_dropped(self, n: int) -> None:
        """Spans received and lost before they were queued (an ingest worker process died)."""
        self._metrics.spans_dropped.inc(n)

    def count_rejected(self, n: int, fmt: str, transport: str) -> None:
        """Spans a codec refused as invalid (partial success)."""
        if n:
            self._metrics.spans_rejected.labels("false", fmt, "", transport).inc(n)

    @staticmethod
    def _sanitize(spans: list[Span]) -> None:
        sanitize(spans)

    def _count_received(self, spans: Sequence[Span], fmt: str, transport: str) -> None:
        self._count_batch(*received_counts(spans), fmt, transport)

    def _count_batch(
        self,
        spans: dict[tuple[str, bool], int],
        roots: dict[tuple[str, bool, str], int],
        fmt: str,
        transport: str,
    ) -> None:
        m = self._metrics
        child = self._child
        for (svc, debug, sampler), n in roots.items():
            label = "true" if debug else "false"
            child(m.traces_received, label, fmt, sampler, m.svc_label(svc), transport).inc(n)
        for (svc, debug), n in spans.items():
            child(m.spans_received, "true" if debug else "false", fmt, m.svc_label(svc), transport).inc(n)

    def _child(self, counter: Counter, *labels: str) -> Counter:
        # `labels()` validates and locks on every call; a batch needs a few children, thousands of
        # batches a second. The labels are bounded (`svc_label`), so is this cache.
        key = (id(counter), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = counter.labels(*labels)
        return found

    async def start(self) -> None:
        if self._workers:
            return
        self._closed = False
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._num_workers)]

    async def idle(self) -> None:
        """Wait until nothing is queued or being written."""
        await self._idle.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new batches, write out what is queued (within `timeout`), stop the workers.

        Spans still unwritten then (queued, or held by a worker retrying an unavailable storage)
        are counted as dropped and logged."""
        self._closed = True
        if self._workers:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            for w in self._workers:
                w.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
        lost = self._queued_spans
        if lost:
            self._metrics.spans_dropped.inc(lost)
            log.error("shutdown: %d spans not written to storage within %.1fs, dropped", lost, timeout)
        self._items.clear()
        self._queued_spans = 0
        self._in_flight = 0
        self._metrics.queue_length.set(0)
        self._idle.set()

    async def _work(self) -> None:
        m = self._metrics
        while True:
            if not self._items:
                self._ready.clear()
                await self._ready.wait()
                continue
            now = time.monotonic()
            enq, first = self._items.popleft()
            m.in_queue_latency.observe(now - enq)
            size = len(first)
            self._in_flight += 1
            if isinstance(first, StoredBatch) and self._stored is not None:
                # Cancelled (by stop), the batch stays in `_queued_spans`: stop counts it as dropped.
                await self._write_stored(first)
            else:
                # Model spans, or spans an ingest worker packed for a storage that takes model
                # spans only: merged into one write.
                parts = [self._spans_of(first)]
                while (
                    self._items
                    and not (self._stored is not None and isinstance(self._items[0][1], StoredBatch))
                    and size + len(self._items[0][1]) <= _MAX_WRITE_SPANS
                ):
                    enq, more = self._items.popleft()
                    m.in_queue_latency.observe(now - enq)
                    parts.append(self._spans_of(more))
                    size += len(more)
                await self._write(parts)
            self._in_flight -= 1
            self._queued_spans -= size
            m.queue_length.set(self._queued_spans)
            if not self._items and not self._in_flight:
                self._idle.set()

    @staticmethod
    def _spans_of(item: list[Span] | StoredBatch) -> list[Span]:
        return unpack_spans(item.records) if isinstance(item, StoredBatch) else item

    async def _write(self, parts: list[list[Span]]) -> None:
        """Write the queued batches `parts` in one storage write until every span is stored or
        refused for good, and count each span's outcome.

        A permanent failure loses only the spans it is about: the backend names them
        (`StorageError.failed`), or, when it cannot, its write was all or nothing and the
        batches are written again one by one, a failing one halved until the spans that fail
        are alone. So one bad span never costs another request its acknowledged spans.
        """
        m = self._metrics
        batch = parts[0] if len(parts) == 1 else [s for part in parts for s in part]
        errors: list[BaseException] = []
        refused = await self._store(batch, parts, errors)
        if refused:
            log.error(
                "storage refused %d of %d spans, dropped: %s", len(refused), len(batch), _describe(errors[0])
            )
        elif self._outage_since is not None:
            log.info(
                "storage available again after %.1fs; writing the queued spans",
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None
        m.batch_size.set(len(batch))
        counts: dict[tuple[str, str, str], int] = {}
        lost = {id(s) for s in refused}
        for span in batch:
            key = (span.process.service_name, "true" if span.flags & FLAG_DEBUG else "false",
                   "err" if id(span) in lost else "ok")  # fmt: skip
            counts[key] = counts.get(key, 0) + 1
        for (svc, debug, result), n in counts.items():
            self._child(m.spans_saved, debug, result, m.svc_label(svc)).inc(n)

    async def _write_stored(self, batch: StoredBatch) -> None:
        """A stored-form batch, written all or nothing (it holds one request's spans)."""
        assert self._stored is not None
        m = self._metrics
        error = await self._write_until_taken(batch, self._stored.write_stored)
        if error is not None:
            log.error("storage refused %d spans, dropped: %s", len(batch), _describe(error))
        m.batch_size.set(len(batch))
        result = "ok" if error is None else "err"
        for (svc, debug), n in batch.spans.items():
            self._child(m.spans_saved, "true" if debug else "false", result, m.svc_label(svc)).inc(n)

    async def _store(
        self, spans: list[Span], parts: list[list[Span]], errors: list[BaseException]
    ) -> list[Span]:
        """The spans of `spans` (made of `parts`) that storage refused for good."""
        error = await self._write_until_taken(spans, self._writer.write_spans)
        if error is None:
            return []
        errors.append(error)
        failed = error.failed if isinstance(error, StorageError) else None
        if failed is not None:
            return [spans[i] for i in sorted(set(failed)) if 0 <= i < len(spans)]
        if len(parts) > 1:
            return [s for part in parts for s in await self._store(part, [part], errors)]
        if len(spans) == 1:
            return spans
        half = len(spans) // 2
        first, second = spans[:half], spans[half:]
        return await self._store(first, [first], errors) + await self._store(second, [second], errors)

    async def _write_until_taken(
        self, spans: Any, write: Callable[[Any], Awaitable[None]]
    ) -> BaseException | None:
        """One `write` of `spans`, retried with backoff while storage is away; None when it went
        through, else the permanent error."""
        m = self._metrics
        delay, max_delay = self._retry_backoff
        while True:
            t0 = time.perf_counter()
            try:
                await write(spans)
            except StorageError as e:
                m.save_latency.observe(time.perf_counter() - t0)
                if e.transient:
                    self._storage_down(e, len(spans), delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, max_delay)
                    continue
                return e
            except Exception as e:
                m.save_latency.observe(time.perf_counter() - t0)
                return e
            m.save_latency.observe(time.perf_counter() - t0)
            return None

    def _storage_down(self, error: StorageError, n: int, delay: float) -> None:
        # Every worker may be retrying at once: say it when the outage starts, then now and then.
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = self._outage_logged = now
            log.warning(
                "storage unavailable, keeping %d spans and retrying in %.1fs (queue %d/%d spans;"
                " new batches are refused while it is full): %s",
                n,
                delay,
                self._queued_spans,
                self.capacity,
                error,
            )
        elif now - self._outage_logged >= _OUTAGE_LOG_INTERVAL:
            self._outage_logged = now
            log.warning(
                "storage still unavailable after %.0fs (queue %d/%d spans): %s",
                now - self._outage_since,
                self._queued_spans,
                self.capacity,
                error,
            )
        else:
            log.debug("storage unavailable, retrying %d spans in %.1fs: %s", n, delay, error)


def _describe(e: BaseException) -> str:
    return str(e) if isinstance(e, StorageError) else f"{type(e).__name__}: {e}"


_SAMPLERS = frozenset({"probabilistic", "lowerbound", "ratelimiting", "const"})


def sanitize(spans: list[Span]) -> None:
    """Jaeger's collector sanitizers: an empty service name and a negative duration."""
    for span in spans:
        if not span.process.service_name:
            span.process.service_name = "empty-service-name"
        if span.duration < 0:
            span.duration = 0


def received_counts(
    spans: Sequence[Span],
) -> tuple[dict[tuple[str, bool], int], dict[tuple[str, bool, str], int]]:
    """What the received counters count of a batch: spans by (service, debug), and root spans
    (traces) by (service, debug, sampler type)."""
    by_span: dict[tuple[str, bool], int] = {}
    roots: dict[tuple[str, bool, str], int] = {}
    for span in spans:
        key = (span.process.service_name, bool(span.flags & FLAG_DEBUG))
        by_span[key] = by_span.get(key, 0) + 1
        if not span.references:
            kv = span.tag("sampler.type")
            sampler = kv.value if kv is not None and isinstance(kv.value, str) else ""
            root = (*key, sampler if sampler in _SAMPLERS else "unrecognized")
            roots[root] = roots.get(root, 0) + 1
    return by_span, roots
