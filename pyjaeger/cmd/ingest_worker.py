"""An ingest worker process: the collector's receivers on ports its siblings share
(SO_REUSEPORT), decoding into the storage's form and handing each batch over the link to the
process that owns the span processor (`pyjaeger.cmd.ingest_pool`), which answers whether it was
queued. The owner also hands it the UDP datagrams its agent ports receive, to decode.

It takes no signal of its own (Ctrl-C reaches the whole process group, and the owner must see
every acknowledged span queued before anyone exits): it stops when the owner says so, after the
requests in progress are answered, or when the owner is gone (the link ends).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from prometheus_client import CollectorRegistry

from pyjaeger.cmd.config import Config
from pyjaeger.cmd.gc_tuning import freeze_startup_objects, tune_gc
from pyjaeger.cmd.logs import setup_logging
from pyjaeger.cmd.receivers import collector_receivers
from pyjaeger.codecs.agent_thrift import decode_agent_datagram
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.collector.ingest_link import Link, open_link
from pyjaeger.collector.remote_intake import RemoteIntake, SharedCount
from pyjaeger.http_connections import raise_file_limit
from pyjaeger.merged_metrics import local_samples
from pyjaeger.metrics import HttpServerMetrics
from pyjaeger.sampling.provider import StrategyProvider
from pyjaeger.servers import Server
from pyjaeger.storage.base import StoredBatch

__all__ = ["worker_main", "METRICS_INTERVAL"]

log = logging.getLogger(__name__)

METRICS_INTERVAL = 1.0  # s between the worker's metric snapshots to the owner


def worker_main(config: Config, index: int, sock: socket.socket, direct: bool, sent: SharedCount) -> None:
    """The process's entry point (multiprocessing, spawned)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    setup_logging(config.log_level, config.log_format)
    raise_file_limit()
    tune_gc()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_Worker(config, index, direct, sent).run(sock))


class _Worker:
    def __init__(self, config: Config, index: int, direct: bool, sent: SharedCount) -> None:
        self.config = config
        self.index = index
        self.direct = direct
        self.sent = sent
        self.registry = CollectorRegistry()
        self.http_metrics = HttpServerMetrics(self.registry)
        s = config.sampling
        self.provider = StrategyProvider(s.strategies_file, s.reload_interval, s.default_probability)
        self.receivers: list[Server] = []
        self.intake: RemoteIntake | None = None
        self.link: Link
        self.metrics: asyncio.Task[None] | None = None
        self.decode_udp: _DatagramDecoder

    async def run(self, sock: socket.socket) -> None:
        self.stopping: asyncio.Task[None] | None = None
        link = self.link = await open_link(sock, self._on_message)
        intake = self.intake = RemoteIntake(link, self.direct, self.sent)
        self.decode_udp = _DatagramDecoder(intake)
        self.receivers = collector_receivers(
            self.config.collector, intake, self.provider, self.http_metrics, reuse_port=True
        )
        error = await self._start()
        link.send("ready", error)
        if error:
            link.close()
            return
        freeze_startup_objects()
        self.metrics = asyncio.create_task(self._send_metrics())
        await link.closed
        # The owner closed the link: after "stop", once this process said it stopped; otherwise
        # the owner is gone, and nothing in progress can be queued any more.
        intake.fail_pending("the collector is stopping")
        if self.stopping is None:
            log.warning("ingest worker %d: the collector process is gone; stopping", self.index)
            self.stopping = asyncio.create_task(self._stop())
        await asyncio.gather(self.stopping, return_exceptions=True)

    def _on_message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "reply":
            assert self.intake is not None
            self.intake.reply(*message[1:])
        elif kind == "room":
            assert self.intake is not None
            self.intake.room(message[1], message[2])
        elif kind == "datagram":
            self.link.send("udp", *self.decode_udp(message[1], message[2]))
        elif kind == "stop" and self.stopping is None:
            self.stopping = asyncio.create_task(self._stop())

    async def _start(self) -> str:
        try:
            await self.provider.start()
            for r in self.receivers:
                await r.start()
        except Exception as e:
            await self._stop_receivers()
            return str(e) or type(e).__name__
        return ""

    async def _stop_receivers(self) -> None:
        # All at once: each finishes its own requests, none waits for another's.
        results = await asyncio.gather(*(r.stop() for r in self.receivers), return_exceptions=True)
        for r, result in zip(self.receivers, results, strict=True):
            if isinstance(result, Exception):
                log.error("ingest worker %d: stopping %s failed: %r", self.index, r.name, result)
        await self.provider.stop()

    async def _stop(self) -> None:
        # The receivers finish the requests they have (their batches still go over the link and
        # are answered), then the last metrics and "stopped" go, and the link closes.
        await self._stop_receivers()
        if self.metrics is not None:
            self.metrics.cancel()
            await asyncio.gather(self.metrics, return_exceptions=True)
        self.link.send("metrics", local_samples(self.registry))
        self.link.send("stopped")
        self.link.close()
        await self.link.closed

    async def _send_metrics(self) -> None:
        while True:
            await asyncio.sleep(METRICS_INTERVAL)
            self.link.send("metrics", local_samples(self.registry))


class _DatagramDecoder:
    """A datagram as the owner's UDP server counts it: ("udp", protocol, format, outcome,
    detail, records, spans, roots, rejected, first reason), outcome "ok" or "bad"."""

    def __init__(self, intake: RemoteIntake) -> None:
        self._intake = intake
        self._stored = intake.stored_decoder("thrift-agent")

    def __call__(self, protocol: str, data: bytes) -> tuple[Any, ...]:
        fmt = "jaeger"
        try:
            batch = self._decode_stored(data)
            if batch is None:
                fmt, spans = decode_agent_datagram(data)
                batch, _ = self._intake.pack(spans)
        except DecodeError as e:
            return (protocol, fmt, "bad", str(e), [], {}, {}, 0, "")
        except Exception as e:  # a codec bug: counted and logged like bad input, the worker goes on
            log.exception("decoding a %d-byte datagram failed", len(data))
            return (protocol, fmt, "bad", repr(e), [], {}, {}, 0, "")
        self._intake.sending(len(batch.records))
        return (
            protocol,
            fmt,
            "ok",
            "",
            batch.records,
            batch.spans,
            batch.roots,
            batch.rejected,
            batch.first_reason,
        )

    def _decode_stored(self, data: bytes) -> StoredBatch | None:
        if self._stored is None:
            return None
        try:
            return self._stored(data)
        except DecodeError:
            return None  # the codec says why
