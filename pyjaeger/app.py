"""Wires the components a sub-command runs, and owns their start/stop order.

Start: admin (health 503) → storage → span processor → receivers and query → health 200.
Stop: health 503 → receivers stop taking spans → the queue drains into storage → query and admin
stop → storage closes. Spans acknowledged to a client are written before the process exits.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry

from pyjaeger.admin import Health, admin_app
from pyjaeger.collector.otlp import OTLPIngest
from pyjaeger.collector.otlp_grpc import otlp_grpc_handler
from pyjaeger.collector.otlp_http import otlp_http_app
from pyjaeger.collector.processor import SpanProcessor
from pyjaeger.config import Config
from pyjaeger.metrics import CollectorMetrics, QueryMetrics
from pyjaeger.query.http_api import query_app
from pyjaeger.query.service import QueryService
from pyjaeger.servers import GrpcServer, HttpServer, Server
from pyjaeger.storage.factory import Storage, create_storage
from pyjaeger.storage.instrumented import InstrumentedReader

__all__ = ["App", "COLLECTOR_COMMANDS", "QUERY_COMMANDS"]

log = logging.getLogger(__name__)

COLLECTOR_COMMANDS = ("all-in-one", "collector")
QUERY_COMMANDS = ("all-in-one", "query")

DRAIN_TIMEOUT = 10.0


class App:
    def __init__(self, command: str, config: Config) -> None:
        self.command = command
        self.config = config
        self.registry = CollectorRegistry()
        self.health = Health()
        self.storage: Storage = create_storage(config.storage)
        self.processor: SpanProcessor | None = None
        self.receivers: list[Server] = []
        self.frontends: list[Server] = []
        c = config.collector
        if command in COLLECTOR_COMMANDS:
            self.processor = SpanProcessor(
                self.storage.writer,
                CollectorMetrics(self.registry),
                queue_size=c.queue_size,
                num_workers=c.num_workers,
            )
            ingest = OTLPIngest(self.processor)
            if c.otlp_enabled:
                self.receivers += [
                    GrpcServer(
                        "OTLP gRPC receiver",
                        [otlp_grpc_handler(ingest)],
                        c.otlp_grpc_host_port,
                        c.grpc_max_message_size,
                    ),
                    HttpServer(
                        "OTLP HTTP receiver",
                        otlp_http_app(ingest, c.http_max_request_size),
                        c.otlp_http_host_port,
                    ),
                ]
        if command in QUERY_COMMANDS:
            reader = InstrumentedReader(self.storage.reader, QueryMetrics(self.registry))
            service = QueryService(reader, self.storage.dependencies)
            self.frontends.append(
                HttpServer(
                    "query HTTP server",
                    query_app(service, config.query.base_path),
                    config.query.http_host_port,
                )
            )
        self.admin = HttpServer(
            "admin server", admin_app(self.health, self.registry), config.admin.http_host_port
        )
        self._started = False

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
            if self.processor is not None:
                await self.processor.start()
            for s in [*self.receivers, *self.frontends]:
                await s.start()
        except BaseException:
            await self.stop()
            raise
        self.health.ready()
        log.info("%s started", self.command)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.health.draining()
        for s in self.receivers:
            await _quietly(s.stop(), s.name)
        if self.processor is not None:
            await self.processor.stop(DRAIN_TIMEOUT)
        for s in [*self.frontends, self.admin]:
            await _quietly(s.stop(), s.name)
        await self.storage.close()
        log.info("%s stopped", self.command)


async def _quietly(aw: object, name: str) -> None:
    try:
        await aw  # type: ignore[misc]
    except Exception:
        log.exception("stopping %s failed", name)
