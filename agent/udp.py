"""UDP servers for Jaeger thrift `emitBatch` datagrams (6831 compact, 6832 binary).

`emitZipkinBatch` datagrams (Jaeger's 5775 zipkin.thrift compact) are taken on the same ports;
what is counted after decoding them is labelled format="zipkin".

Every datagram carries one whole thrift message; its protocol is read from its first byte, so
either port takes either protocol (Node's jaeger-client sends binary to 6831). Datagrams wait in
a bounded queue and are decoded in batches on the event loop; a full queue, an oversize or an
undecodable datagram is a counted and logged drop, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pyjaeger.agent.config import UDPServerConfig
from pyjaeger.codecs.agent_thrift import decode_agent_datagram
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.metrics import UDPServerMetrics
from pyjaeger.model import Span
from pyjaeger.servers import Server

__all__ = ["UDPServer", "SinkFull", "socket_drops"]

log = logging.getLogger(__name__)

# Datagrams decoded before yielding to the loop, so reads keep up while a backlog is worked off.
_DECODE_SLICE = 64
_COMPACT_ID = 0x82


class SinkFull(Exception):
    """Whoever takes the spans has no room: the datagram is dropped and counted."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes], None]) -> None:
        self.datagram_received = lambda data, addr: on_datagram(data)  # type: ignore[method-assign]

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP receive error: %s", exc)


class _RateLimitedLog:
    """At most one warning a second, with how many were folded into it."""

    def __init__(self) -> None:
        self._last = 0.0
        self._folded = 0

    def warn(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < 1.0:
            self._folded += 1
            return
        suffix = f" (and {self._folded} more since the last report)" if self._folded else ""
        self._last, self._folded = now, 0
        log.warning(msg + suffix, *args)


class UDPServer(Server):
    def __init__(
        self,
        name: str,
        config: UDPServerConfig,
        protocol: str,
        sink: Callable[[list[Span], str], None],
        metrics: UDPServerMetrics,
        datagram_sink: Callable[[bytes, str], bool] | None = None,
    ) -> None:
        """`sink` takes the spans of each datagram; `datagram_sink(data, protocol)`, when given,
        is offered the datagram first and answers whether it took it (the all-in-one's collector
        takes Jaeger's emitBatch straight into a storage that can, or hands it to an ingest
        worker process), SinkFull when it has no room. A datagram it took has its outcome counted
        through `report`, now or when a worker process has decoded it."""
        self.name = name
        self.config = config
        self._sink = sink
        self._datagram_sink = datagram_sink
        self._queue: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None
        self._worker: asyncio.Task[None] | None = None
        self._default = protocol
        self._metrics = metrics
        self._m = {p: _Labelled(metrics, p) for p in ("compact", "binary")}
        self._zipkin: dict[str, _Labelled] = {}  # by protocol, made on the first Zipkin datagram
        self._warn = _RateLimitedLog()
        self.port = 0

    async def start(self) -> None:
        if self._transport is not None:
            return
        sock = self._bind()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._received), sock=sock)
        self._transport = transport
        inode = os.fstat(sock.fileno()).st_ino
        self._m[self._default].kernel_drops.set_function(lambda: socket_drops(inode))
        self._worker = asyncio.create_task(self._work())
        log.info("%s listening on %s/udp", self.name, self.config.host_port)

    def _bind(self) -> socket.socket:
        addr = self.config.host_port
        family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        want = self.config.socket_buffer_size
        if want:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
            got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            # Linux doubles the request for bookkeeping and caps it at net.core.rmem_max.
            log.info("%s: requested a %d-byte receive buffer, the kernel granted %d", self.name, want, got)
        try:
            sock.bind((addr.host, addr.port))
        except OSError as e:
            sock.close()
            raise OSError(e.errno, f"cannot listen on {addr}/udp: {e.strerror}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    def _received(self, data: bytes) -> None:
        m = self._m[self._protocol_of(data)]
        if len(data) > self.config.max_packet_size:
            m.read_errors.inc()
            self._warn.warn(
                "%s: dropped a %d-byte datagram, over the %d-byte limit",
                self.name,
                len(data),
                self.config.max_packet_size,
            )
            return
        if len(self._queue) >= self.config.queue_size:
            m.dropped.inc()
            self._warn.warn("%s: queue full (%d datagrams), dropped a datagram", self.name, len(self._queue))
            return
        self._queue.append(data)
        m.packet_size.set(len(data))
        self._ready.set()

    def _protocol_of(self, data: bytes) -> str:
        if not data:
            return self._default
        return "compact" if data[0] == _COMPACT_ID else "binary" if data[0] == 0x80 else self._default

    async def _work(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            for _ in range(min(len(queue), _DECODE_SLICE)):
                self._handle(queue.popleft())
            # The queue belongs to the port, labelled with the port's own protocol.
            self._m[self._default].queue_size.set(len(queue))
            await asyncio.sleep(0)

    def _handle(self, data: bytes) -> None:
        protocol = self._protocol_of(data)
        m = self._m[protocol]
        if self._datagram_sink is not None:
            try:
                taken = self._datagram_sink(data, protocol)
            except SinkFull as e:
                self.report(protocol, "jaeger", "dropped", str(e))
                return
            except DecodeError:
                taken = False  # the codec below says why
            except Exception as e:  # a bug: the codec's path gets its chance
                log.exception("%s: the direct path failed on a %d-byte datagram", self.name, len(data))
                self._warn.warn("%s: direct path failed: %r", self.name, e)
                taken = False
            if taken:
                return
        try:
            fmt, spans = decode_agent_datagram(data)
        except DecodeError as e:
            m.handler_errors.inc()
            self._warn.warn("%s: dropped an undecodable %d-byte datagram: %s", self.name, len(data), e)
            return
        except Exception as e:  # a codec bug: counted and logged like bad input, the port goes on
            m.handler_errors.inc()
            log.exception("%s: decoding a %d-byte datagram failed", self.name, len(data))
            self._warn.warn("%s: dropped a %d-byte datagram: %r", self.name, len(data), e)
            return
        if fmt != "jaeger":
            m = self._zipkin_labels(protocol, fmt)
        m.processed.inc()
        try:
            # The format goes with the spans: in the all-in-one the collector labels them by it.
            self._sink(spans, fmt)
        except SinkFull as e:
            m.dropped.inc()
            self._warn.warn("%s: dropped a datagram of %d spans: %s", self.name, len(spans), e)
        except Exception as e:  # whatever it is, one datagram must not stop the port
            m.dropped.inc()
            self._warn.warn("%s: dropped a datagram of %d spans: %r", self.name, len(spans), e)

    def report(self, protocol: str, fmt: str, outcome: str, detail: str = "") -> None:
        """Count what became of a datagram the datagram sink took: "processed" (its spans were
        queued), "dropped" (no room: `detail` says why), "bad" (undecodable: `detail` says why)."""
        m = self._m[protocol] if fmt == "jaeger" else self._zipkin_labels(protocol, fmt)
        if outcome == "bad":
            m.handler_errors.inc()
            self._warn.warn("%s: dropped an undecodable datagram: %s", self.name, detail)
            return
        m.processed.inc()
        if outcome == "dropped":
            m.dropped.inc()
            self._warn.warn("%s: dropped a datagram: %s", self.name, detail)

    def _zipkin_labels(self, protocol: str, fmt: str) -> _Labelled:
        m = self._zipkin.get(protocol)
        if m is None:
            m = self._zipkin[protocol] = _Labelled(self._metrics, protocol, fmt)
        return m

    async def stop(self) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        transport.close()
        # What was received is handed on before the worker goes.
        while self._queue:
            self._handle(self._queue.popleft())
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None


def socket_drops(inode: int) -> float:
    """The kernel's drop count for the UDP socket with this inode (Linux /proc/net/udp{,6})."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if len(fields) >= 13 and fields[9] == str(inode):
                        return float(fields[-1])
        except OSError:
            continue
    return 0.0


class _Labelled:
    __slots__ = (
        "dropped",
        "handler_errors",
        "kernel_drops",
        "packet_size",
        "processed",
        "queue_size",
        "read_errors",
    )

    def __init__(self, m: UDPServerMetrics, protocol: str, fmt: str = "jaeger") -> None:
        key = (fmt, protocol)
        self.processed = m.packets_processed.labels(*key)
        self.dropped = m.packets_dropped.labels(*key)
        self.read_errors = m.read_errors.labels(*key)
        self.handler_errors = m.handler_errors.labels(*key)
        self.queue_size = m.queue_size.labels(*key)
        self.packet_size = m.packet_size.labels(*key)
        self.kernel_drops = m.kernel_drops.labels(*key)
