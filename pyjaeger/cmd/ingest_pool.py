"""Ingest worker processes (`--collector.ingest-processes`), seen from the process that owns the
span processor and the store.

Each worker runs the collector's receivers on the configured ports, shared by every worker with
SO_REUSEPORT (the kernel spreads connections among them), and decodes what it receives into the
storage's form (`pyjaeger.cmd.ingest_worker`). This process reads each worker's batches off its
link, queues them in the one span processor, and answers whether they were queued, so the
queue bound, the refusals and the collector's counters stay those of one collector. UDP datagrams
(one agent is one client: the kernel would hash all its datagrams to one socket) arrive here and
are handed to the worker with the fewest waiting.

The ports are bound here first, without listening, so a port in use fails the start with a clear
error, a port 0 becomes one port every worker shares, and no other process takes a port between
a worker's death and its successor.

A worker that dies is started again (at once, or after a pause that grows while workers die
young). What it had decoded and not yet handed over is lost: counted in
`jaeger_collector_spans_dropped`, and its datagrams not decoded yet as UDP drops. Its clients,
never answered, send again. Stopping: every worker is told to stop, finishes the requests it has
(their batches are queued here and answered) and says so; then the processor drains as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pyjaeger.agent.udp import SinkFull
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.ingest_worker import worker_main
from pyjaeger.cmd.receivers import receiver_addresses
from pyjaeger.collector.ingest_link import Link, open_link
from pyjaeger.collector.intake import QueueFullError
from pyjaeger.collector.processor import SpanProcessor
from pyjaeger.hostport import HostPort
from pyjaeger.merged_metrics import MergedCollector
from pyjaeger.servers import Server, bind_tcp
from pyjaeger.storage.base import StoredBatch

__all__ = ["IngestPool", "START_TIMEOUT", "MAX_DATAGRAMS"]

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # s for a worker to import, bind and say it is ready
STOP_TIMEOUT = 15.0  # s for the workers to finish their requests (the processor's drain is 10 s)
MAX_DATAGRAMS = 1000  # datagrams waiting in one worker; past that in every worker, UDP drops
ROOM_INTERVAL = 0.02  # s between looks at the queue: workers hear when it fills or has room again
_YOUNG = 10.0  # s: a worker dying younger than this is started again after a pause
_MAX_PAUSE = 30.0

# What a worker reports; `report(protocol, format, outcome, detail)` of the agent's UDP server.
UdpReport = Callable[[str, str, str, str], None]


@dataclass(eq=False)
class _Worker:
    index: int  # its place in the pool, kept by its successors
    serial: int  # unique per process started: its metrics are kept apart
    process: Any
    sent: Any  # RawValue: spans it counted as sent over the link
    received: int = 0  # spans read off its link here
    datagrams: dict[str, int] = field(default_factory=dict)  # protocol → waiting to be decoded
    waiting: int = 0
    link: Link | None = None
    ready: asyncio.Future[str] | None = None
    started: float = field(default_factory=time.monotonic)
    stopped: bool = False  # it said it stopped (after "stop")
    told_full: bool = False  # whether the queue was full when this worker was last told of it
    task: asyncio.Task[None] | None = None


class IngestPool(Server):
    name = "ingest worker processes"

    def __init__(
        self, config: Config, processor: SpanProcessor, processes: int, http_metrics: MergedCollector
    ) -> None:
        self._config = config
        self._processor = processor
        self._processes = processes
        self._direct = processor.stored_decoder("otlp-proto") is not None
        self._merged = http_metrics
        # A fork server imports the worker's modules once; each worker is then a fork of it
        # (milliseconds, and a restart after a crash is as quick), never of this process, whose
        # threads and event loop a fork would copy mid-flight.
        self._context = multiprocessing.get_context("forkserver")
        if sys.version_info >= (3, 11):
            # Only where `_fork_server_env` works: the fork server imports its preload with the
            # working directory first on its path.
            self._context.set_forkserver_preload(["pyjaeger.cmd.ingest_worker"])
        self._workers: dict[int, _Worker] = {}
        self._serials = itertools.count(1)
        self._placeholders: list[socket.socket] = []
        self._addresses: dict[str, HostPort] = {}
        self._worker_config = config
        self._stopping = False
        self._pause = 0.0
        self._restarts: set[asyncio.Task[None]] = set()
        self.udp_report: UdpReport | None = None  # set when this process has agent UDP ports
        self._room: asyncio.Task[None] | None = None

    def worker_pids(self) -> dict[int, int]:
        """Worker index → the pid of its process (started and not known to have exited)."""
        return {i: w.process.pid for i, w in self._workers.items() if w.process.pid is not None}

    def listeners(self) -> dict[str, str]:
        return {name: str(addr) for name, addr in self._addresses.items()}

    async def start(self) -> None:
        if self._workers:
            return
        self._stopping = False
        self._reserve_ports()
        try:
            workers = [self._spawn(i) for i in range(self._processes)]
            for w in workers:
                assert w.ready is not None
                try:
                    error = await asyncio.wait_for(asyncio.shield(w.ready), START_TIMEOUT)
                except asyncio.TimeoutError:
                    error = f"not ready after {START_TIMEOUT:.0f}s"
                if error:
                    raise OSError(f"ingest worker {w.index}: {error}")
        except BaseException:
            await self.stop()
            raise
        self._room = asyncio.create_task(self._announce_room())
        log.info(
            "%d ingest worker processes listening on %s",
            self._processes,
            ", ".join(f"{n} {a}" for n, a in self._addresses.items()),
        )

    def _reserve_ports(self) -> None:
        c = self._config.collector
        changes: dict[str, HostPort] = {}
        for name, attr in receiver_addresses(c).items():
            addr: HostPort = getattr(c, attr)
            sock = bind_tcp(addr, reuse_port=True, listen=False)
            self._placeholders.append(sock)
            changes[attr] = self._addresses[name] = HostPort(addr.host, sock.getsockname()[1])
        self._worker_config = replace(self._config, collector=replace(c, **changes))  # type: ignore[arg-type]

    def _spawn(self, index: int) -> _Worker:
        parent, child = socket.socketpair()
        sent = self._context.RawValue("q", 0)
        process = self._context.Process(
            target=worker_main,
            args=(self._worker_config, index, child, self._direct, sent),
            name=f"pyjaeger-ingest-{index}",
            daemon=True,
        )
        w = _Worker(index, next(self._serials), process, sent)
        w.ready = asyncio.get_running_loop().create_future()
        try:
            with _fork_server_env():
                process.start()
        finally:
            child.close()
        self._workers[index] = w
        w.task = asyncio.create_task(self._serve(w, parent))
        return w

    async def _serve(self, w: _Worker, sock: socket.socket) -> None:
        link = w.link = await open_link(sock, lambda message: self._handle(w, message))
        await link.closed
        await self._ended(w)

    def _handle(self, w: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        processor = self._processor
        if kind == "batch":
            _, request, fmt, transport, records, spans, roots, rejected, reason = message
            w.received += len(records)
            error = ""
            try:
                processor.take_stored(StoredBatch(records, spans, roots, rejected, reason), fmt, transport)
            except QueueFullError as e:
                error = str(e)
            assert w.link is not None
            w.link.send("reply", request, error, processor.queue_length, processor.capacity)
            w.told_full = processor.queue_length >= processor.capacity
        elif kind == "udp":
            _, protocol, fmt, outcome, detail, records, spans, roots, rejected, reason = message
            w.received += len(records)
            w.datagrams[protocol] -= 1
            w.waiting -= 1
            if outcome == "ok":
                outcome = "processed"
                try:
                    processor.take_stored(StoredBatch(records, spans, roots, rejected, reason), fmt, "udp")
                except QueueFullError as e:
                    outcome, detail = "dropped", str(e)
            if self.udp_report is not None:
                self.udp_report(protocol, fmt, outcome, detail)
        elif kind == "rejected":
            processor.count_rejected(*message[1:])
        elif kind == "refused":
            processor.count_refused(*message[1:])
        elif kind == "metrics":
            self._merged.update(w.serial, message[1])
        elif kind == "ready":
            if w.ready is not None and not w.ready.done():
                w.ready.set_result(message[1])
            assert w.link is not None
            w.link.send("room", processor.queue_length, processor.capacity)
            w.told_full = processor.queue_length >= processor.capacity
        elif kind == "stopped":
            w.stopped = True
        else:
            raise ValueError(f"unknown message {kind!r}")

    async def _ended(self, w: _Worker) -> None:
        """The link of `w` ended: the process exited (or is about to)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, w.process.join, 5.0)
        if w.process.is_alive():
            w.process.kill()
            await loop.run_in_executor(None, w.process.join, 5.0)
        self._merged.retire(w.serial)
        if w.ready is not None and not w.ready.done():
            w.ready.set_result(f"exited with code {w.process.exitcode} before it was ready")
        lost = w.sent.value - w.received
        if lost > 0:
            self._processor.count_dropped(lost)
        for protocol, n in w.datagrams.items():
            for _ in range(n):
                if self.udp_report is not None:
                    self.udp_report(protocol, "jaeger", "dropped", "its ingest worker process exited")
        if self._workers.get(w.index) is w:
            del self._workers[w.index]
        if self._stopping and (w.stopped or lost <= 0):
            return
        log.error(
            "ingest worker %d (pid %s) exited with code %s; %d decoded spans and %d datagrams it held"
            " were lost (counted as dropped)%s",
            w.index,
            w.process.pid,
            w.process.exitcode,
            max(lost, 0),
            w.waiting,
            "" if self._stopping else "; starting another",
        )
        if self._stopping:
            return
        young = time.monotonic() - w.started < _YOUNG
        self._pause = min(max(self._pause * 2, 1.0), _MAX_PAUSE) if young else 0.0
        task = asyncio.create_task(self._restart(w.index, self._pause))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, index: int, pause: float) -> None:
        if pause:
            log.warning("ingest worker %d: starting again in %.0fs", index, pause)
            await asyncio.sleep(pause)
        if self._stopping:
            return
        w = self._spawn(index)
        assert w.ready is not None
        try:
            error = await asyncio.wait_for(asyncio.shield(w.ready), START_TIMEOUT)
        except asyncio.TimeoutError:
            error = f"not ready after {START_TIMEOUT:.0f}s"
            w.process.kill()
        if error:
            log.error("ingest worker %d did not start: %s", index, error)
        else:
            log.info("ingest worker %d started again (pid %s)", index, w.process.pid)

    async def _announce_room(self) -> None:
        # A worker refuses undecoded while the queue is full as the owner last said; it must hear
        # when it has room again even if no batch of its own was answered since.
        processor = self._processor
        while True:
            await asyncio.sleep(ROOM_INTERVAL)
            full = processor.queue_length >= processor.capacity
            for w in self._workers.values():
                if w.told_full != full and w.link is not None:
                    w.link.send("room", processor.queue_length, processor.capacity)
                    w.told_full = full

    def forward_datagram(self, data: bytes, protocol: str) -> bool:
        """Hand an agent datagram to the worker with the fewest waiting (SinkFull: none can)."""
        best: _Worker | None = None
        for w in self._workers.values():
            if (
                w.link is not None
                and w.link.is_open
                and w.ready is not None
                and w.ready.done()
                and not w.ready.result()
                and w.waiting < MAX_DATAGRAMS
                and (best is None or w.waiting < best.waiting)
            ):
                best = w
        if best is None or best.link is None:
            raise SinkFull(f"no ingest worker can take a datagram (each has {MAX_DATAGRAMS} waiting)")
        best.link.send("datagram", protocol, data)
        best.datagrams[protocol] = best.datagrams.get(protocol, 0) + 1
        best.waiting += 1
        return True

    async def stop(self) -> None:
        self._stopping = True
        for task in [*self._restarts, *([self._room] if self._room is not None else [])]:
            task.cancel()
        self._room = None
        workers = list(self._workers.values())
        for w in workers:
            if w.link is not None:
                w.link.send("stop")
        tasks = [w.task for w in workers if w.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            for w in workers:
                if w.task in late:
                    log.error("ingest worker %d did not stop in %.0fs; killing it", w.index, STOP_TIMEOUT)
                    w.process.kill()
            if late:
                await asyncio.wait(late, timeout=10.0)
        self._workers.clear()
        for sock in self._placeholders:
            sock.close()
        self._placeholders.clear()


@contextlib.contextmanager
def _fork_server_env() -> Iterator[None]:
    """The environment the fork server starts in (when a start needs one). It runs `python -c`,
    which puts the working directory first on `sys.path`, and imports its preload before it
    takes this process's path (CPython up to 3.12 ignores it there): started from a source
    checkout with a regular install, it would import the checkout's `pyjaeger/`, which lacks the
    component packages (`agent/` ... are mapped in only when installed). PYTHONSAFEPATH (3.11+)
    keeps the working directory off its path."""
    if "PYTHONSAFEPATH" in os.environ:
        yield
        return
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        os.environ.pop("PYTHONSAFEPATH", None)
