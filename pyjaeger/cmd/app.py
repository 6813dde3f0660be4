"""Wires the components a sub-command runs, and owns their start/stop order.

Start: admin (health 503) → sampling → span processor or reporter → receivers and query →
health 200. Stop: health 503 → receivers stop taking spans → the queue drains into storage (or
the agent's reporter delivers what it holds) → query and the agent's HTTP stop → storage closes.
Spans acknowledged to a client are written before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from pyjaeger import __version__
from pyjaeger.agent.http_api import agent_http_app
from pyjaeger.agent.reporter import Reporter
from pyjaeger.agent.sampling_proxy import CollectorStrategies, LocalStrategies, StrategySource
from pyjaeger.agent.udp import SinkFull, UDPServer
from pyjaeger.cmd.admin import Health, admin_app
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.ingest_pool import IngestPool
from pyjaeger.cmd.receivers import collector_receivers
from pyjaeger.collector.intake import QueueFullError
from pyjaeger.collector.processor import SpanProcessor
from pyjaeger.cpus import available_cpus
from pyjaeger.hostport import HostPort
from pyjaeger.merged_metrics import MergedCollector
from pyjaeger.metrics import (
    CollectorMetrics,
    HttpServerMetrics,
    QueryMetrics,
    ReporterMetrics,
    UDPServerMetrics,
)
from pyjaeger.model import Span
from pyjaeger.query.grpc_api import QUERY_GRPC_MAX_MESSAGE_SIZE, query_grpc_handlers
from pyjaeger.query.http_api import query_app
from pyjaeger.query.service import QueryService
from pyjaeger.sampling.provider import StrategyProvider
from pyjaeger.servers import GrpcServer, HttpServer, Server
from pyjaeger.storage.factory import Storage, create_storage
from pyjaeger.storage.instrumented import InstrumentedReader

__all__ = ["App", "COLLECTOR_COMMANDS", "QUERY_COMMANDS"]

log = logging.getLogger(__name__)

COLLECTOR_COMMANDS = ("all-in-one", "collector")
QUERY_COMMANDS = ("all-in-one", "query")
AGENT_COMMANDS = ("all-in-one", "agent")

DRAIN_TIMEOUT = 10.0


class App:
    def __init__(self, command: str, config: Config) -> None:
        self.command = command
        self.config = config
        self.registry = CollectorRegistry()
        self.pool: IngestPool | None = None
        processes = config.collector.ingest_processes or available_cpus()
        self.ingest_processes = processes if command in COLLECTOR_COMMANDS else 1
        # One histogram for every HTTP server of the process: a registry takes a name once. With
        # ingest worker processes, their receivers' samples are added to it.
        self.http_merged: MergedCollector | None = None
        if self.ingest_processes > 1:
            self.http_metrics = HttpServerMetrics(None)
            self.http_merged = MergedCollector([self.http_metrics.duration])
            self.registry.register(self.http_merged)
        else:
            self.http_metrics = HttpServerMetrics(self.registry)
        self.health = Health()
        self.storage: Storage | None = None
        self.provider: StrategyProvider | None = None
        self.processor: SpanProcessor | None = None
        self.reporter: Reporter | None = None
        self.strategies: StrategySource | None = None
        self.receivers: list[Server] = []
        self.frontends: list[Server] = []
        if command != "agent":
            self.storage = create_storage(config.storage, read_only=command not in COLLECTOR_COMMANDS)
        if command in COLLECTOR_COMMANDS:
            self._build_collector()
        if command in AGENT_COMMANDS:
            self._build_agent()
        if command in QUERY_COMMANDS:
            assert self.storage is not None
            reader = InstrumentedReader(self.storage.reader, QueryMetrics(self.registry))
            service = QueryService(reader, self.storage.dependencies)
            self.frontends.append(
                HttpServer(
                    "query HTTP server",
                    query_app(service, config.query, self.http_metrics),
                    config.query.http_host_port,
                    config.query.http_limits,
                )
            )
            self.frontends.append(
                GrpcServer(
                    "query gRPC server",
                    query_grpc_handlers(service),
                    config.query.grpc_host_port,
                    QUERY_GRPC_MAX_MESSAGE_SIZE,
                )
            )
        self.admin = HttpServer(
            "admin server",
            admin_app(self.health, self.registry),
            config.admin.http_host_port,
            config.admin.http_limits,
        )
        self._started = False

    def _build_collector(self) -> None:
        assert self.storage is not None
        c = self.config.collector
        s = self.config.sampling
        self.provider = StrategyProvider(s.strategies_file, s.reload_interval, s.default_probability)
        processor = self.processor = SpanProcessor(
            self.storage.writer,
            CollectorMetrics(self.registry),
            queue_size=c.queue_size,
            num_workers=c.num_workers,
        )
        if self.http_merged is not None:
            self.pool = IngestPool(self.config, processor, self.ingest_processes, self.http_merged)
            self.receivers.append(self.pool)
        else:
            self.receivers += collector_receivers(c, processor, self.provider, self.http_metrics)

    def _build_agent(self) -> None:
        a = self.config.agent
        sink: Callable[[list[Span], str], None]
        datagram_sink: Callable[[bytes, str], bool] | None = None
        udp: list[UDPServer] = []
        if self.processor is not None:
            # All-in-one: the agent hands spans to the collector's queue in-process.
            processor = self.processor

            def sink(spans: list[Span], fmt: str) -> None:
                try:
                    processor.take(spans, fmt, "udp")
                except QueueFullError as e:
                    raise SinkFull(str(e)) from None

            stored = processor.stored_decoder("thrift-agent")
            if self.pool is not None:
                datagram_sink = self.pool.forward_datagram  # decoded in a worker process
            elif stored is not None:
                decode = stored

                def datagram_sink(data: bytes, protocol: str) -> bool:
                    batch = decode(data)
                    if batch is None:
                        return False
                    try:
                        processor.take_stored(batch, "jaeger", "udp")
                    except QueueFullError as e:
                        raise SinkFull(str(e)) from None
                    udp[0].report(protocol, "jaeger", "processed")
                    return True

            assert self.provider is not None
            self.strategies = LocalStrategies(self.provider)
        else:
            r = self.config.reporter
            self.reporter = Reporter(r, ReporterMetrics(self.registry, r.type))
            reporter = self.reporter

            def sink(spans: list[Span], fmt: str) -> None:
                # Forwarded over gRPC: the collector labels them by its own receiver.
                reporter.submit(spans)

            self.strategies = CollectorStrategies(r)
        metrics = UDPServerMetrics(self.registry)
        # Either server counts for both protocols (the metrics are labelled by the datagram's).
        udp += [
            UDPServer("agent UDP server (compact)", a.compact, "compact", sink, metrics, datagram_sink),
            UDPServer("agent UDP server (binary)", a.binary, "binary", sink, metrics, datagram_sink),
        ]
        self.receivers += udp
        if self.pool is not None:
            self.pool.udp_report = udp[0].report
        self.frontends.append(
            HttpServer(
                "agent HTTP server",
                agent_http_app(self.strategies, self.http_metrics),
                a.http_host_port,
                a.http_limits,
            )
        )

    def server(self, name: str) -> Server:
        for s in [*self.receivers, *self.frontends, self.admin]:
            if s.name == name:
                return s
        raise KeyError(name)

    async def start(self) -> None:
        """Start everything; on a failure, stop what started and re-raise."""
        self._started = True
        try:
            await self.admin.start()
            if self.storage is not None:
                await self.storage.start()
            if self.provider is not None:
                await self.provider.start()
            if self.processor is not None:
                await self.processor.start()
            if self.reporter is not None:
                await self.reporter.start()
            if self.strategies is not None:
                await self.strategies.start()
            for s in [*self.receivers, *self.frontends]:
                await s.start()
        except BaseException:
            await self.stop()
            raise
        self.health.ready()
        listeners = self.listeners()
        storage = self.storage_description()
        log.info(
            "pyjaeger %s %s started",
            self.command,
            __version__,
            extra={
                "command": self.command,
                "version": __version__,
                "listeners": listeners,
                "open_file_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                **({"storage": storage} if storage else {}),
            },
        )

    def listeners(self) -> dict[str, str]:
        """Server name → the host:port it listens on (the bound port: a configured 0 shows the real one)."""
        out: dict[str, str] = {}
        for s in [self.admin, *self.receivers, *self.frontends]:
            if isinstance(s, UDPServer):
                host, port = s.config.host_port.host, s.port
            elif isinstance(s, (HttpServer, GrpcServer)):
                host, port = s.addr.host, s.port
            elif isinstance(s, IngestPool):
                out.update(s.listeners())
                continue
            else:
                continue
            out[s.name] = str(HostPort(host, port))
        return out

    def storage_description(self) -> str:
        """The storage type, with the SQLite path or the Elasticsearch URLs (without credentials)."""
        if self.storage is None:
            return ""
        st = self.config.storage
        if st.span_storage_type == "sqlite":
            return f"sqlite {st.sqlite.path}"
        if st.span_storage_type == "elasticsearch":
            return f"elasticsearch {st.elasticsearch.display_urls}"
        return st.span_storage_type

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.health.draining()
        # Servers of one kind stop together: each finishes its own requests, none waits for
        # another's (an HTTP server takes a tick of 0.1 s to notice).
        await asyncio.gather(*(_quietly(s.stop(), s.name) for s in self.receivers))
        if self.processor is not None:
            await self.processor.stop(DRAIN_TIMEOUT)
        if self.reporter is not None:
            await self.reporter.stop(DRAIN_TIMEOUT)
        await asyncio.gather(*(_quietly(s.stop(), s.name) for s in [*self.frontends, self.admin]))
        if self.strategies is not None:
            await _quietly(self.strategies.stop(), "sampling source")
        if self.provider is not None:
            await _quietly(self.provider.stop(), "sampling provider")
        if self.storage is not None:
            await self.storage.close()
        log.info("%s stopped", self.command)


async def _quietly(aw: object, name: str) -> None:
    try:
        await aw  # type: ignore[misc]
    except Exception:
        log.exception("stopping %s failed", name)
