"""Forwards the agent's spans to collectors: gRPC api_v2 PostSpans (round-robin) or thrift over HTTP.

Spans wait in a queue bounded in spans. The sender takes a batch from its head and keeps it there
until a collector accepts it: on failure it tries the next collectors (up to retry.max times), then
backs off exponentially and tries again, so a collector outage shorter than the queue's worth of
traffic loses nothing. What does not fit in the queue is refused, counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import grpc
import httpx

from pyjaeger.agent.collectors import CollectorConnections
from pyjaeger.agent.config import ReporterConfig
from pyjaeger.agent.udp import SinkFull
from pyjaeger.codecs.api_v2 import POST_SPANS_METHOD, encode_post_spans
from pyjaeger.codecs.jaeger_thrift import encode_batches
from pyjaeger.metrics import ReporterMetrics
from pyjaeger.model import Span

__all__ = ["Reporter"]

log = logging.getLogger(__name__)

_MAX_BATCH_SPANS = 1000
_BACKOFF_MIN, _BACKOFF_MAX = 0.1, 5.0
_SEND_TIMEOUT = 5.0


class Reporter:
    def __init__(self, config: ReporterConfig, metrics: ReporterMetrics) -> None:
        self.config = config
        self._m = metrics
        self._queue: deque[list[Span]] = deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._collectors = CollectorConnections(config, POST_SPANS_METHOD, _SEND_TIMEOUT)

    @property
    def queue_length(self) -> int:
        return self._queued

    def submit(self, spans: list[Span]) -> None:
        """Queue spans for the collectors; raises SinkFull (counted) when the queue has no room."""
        n = len(spans)
        if not n:
            return
        if self._queued + n > self.config.queue_size:
            self._m.spans_failures.inc(n)
            raise SinkFull(f"reporter queue is full ({self._queued}/{self.config.queue_size} spans)")
        self._queue.append(spans)
        self._queued += n
        self._m.queue_length.set(self._queued)
        self._idle.clear()
        self._ready.set()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._collectors.open()
        self._task = asyncio.create_task(self._run())

    async def stop(self, timeout: float = 5.0) -> None:
        """Try to deliver what is queued within `timeout`, then close the connections."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            log.error("agent stopping: %d spans not delivered to any collector", self._queued)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self._collectors.close()

    def _take(self) -> list[Span]:
        """The head of the queue merged up to a batch size; removed only once it is delivered."""
        batch = list(self._queue[0])
        for item in list(self._queue)[1:]:
            if len(batch) + len(item) > _MAX_BATCH_SPANS:
                break
            batch += item
        return batch

    def _drop_delivered(self, n: int) -> None:
        while n > 0:
            head = self._queue.popleft()
            n -= len(head)
            self._queued -= len(head)
        self._m.queue_length.set(self._queued)

    async def _run(self) -> None:
        backoff = _BACKOFF_MIN
        while True:
            if not self._queue:
                self._idle.set()
                self._ready.clear()
                await self._ready.wait()
                continue
            batch = self._take()
            if await self._send(batch):
                self._m.batches_submitted.inc()
                self._m.spans_submitted.inc(len(batch))
                self._m.batch_size.set(len(batch))
                self._drop_delivered(len(batch))
                backoff = _BACKOFF_MIN
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _send(self, batch: list[Span]) -> bool:
        attempts = 1 + self.config.retry_max
        for _ in range(attempts):
            try:
                if self._collectors.http is not None:
                    await self._send_http(self._collectors.http, batch)
                else:
                    await self._send_grpc(batch)
                return True
            except (grpc.aio.AioRpcError, httpx.HTTPError, OSError) as e:
                self._m.batches_failures.inc()
                log.warning("could not send %d spans to a collector: %s", len(batch), _short(e))
        return False

    async def _send_grpc(self, batch: list[Span]) -> None:
        await self._collectors.next_call()(encode_post_spans(batch), timeout=_SEND_TIMEOUT)

    async def _send_http(self, http: httpx.AsyncClient, batch: list[Span]) -> None:
        for body in encode_batches(batch):
            r = await http.post(
                self.config.http_endpoint, content=body, headers={"Content-Type": "application/x-thrift"}
            )
            if r.status_code >= 300:
                raise httpx.HTTPStatusError(
                    f"collector answered {r.status_code}", request=r.request, response=r
                )


def _short(e: BaseException) -> str:
    if isinstance(e, grpc.aio.AioRpcError):
        return f"{e.code().name}: {e.details()}"
    return str(e) or type(e).__name__
