"""`CollectorConfig`: the collector's `--collector.*` flags."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits

__all__ = ["CollectorConfig"]


@dataclass(slots=True, frozen=True)
class CollectorConfig:
    queue_size: int = 2000  # spans waiting to be written, over every receiver
    num_workers: int = 50  # concurrent storage writes
    # Processes that decode what the receivers take (ours: Jaeger's Go collector is one process
    # using every core). 0: one per CPU it may use; 1: the receivers decode in the collector's
    # own process.
    ingest_processes: int = 0
    otlp_enabled: bool = True
    otlp_grpc_host_port: HostPort = HostPort("0.0.0.0", 4317)
    otlp_http_host_port: HostPort = HostPort("0.0.0.0", 4318)
    http_host_port: HostPort = HostPort("0.0.0.0", 14268)
    http_limits: HttpLimits = HttpLimits()  # --collector.http-server.*
    otlp_http_limits: HttpLimits = HttpLimits()  # --collector.otlp.http.*
    grpc_host_port: HostPort = HostPort("0.0.0.0", 14250)
    http_max_request_size: int = 20 * 1024 * 1024  # bytes, after decompression
    grpc_max_message_size: int = 4 * 1024 * 1024
    # s; 0: no limit (Jaeger's --collector.grpc-server.max-connection-age[-grace] and .otlp.grpc's)
    grpc_max_connection_age: float = 0.0
    grpc_max_connection_age_grace: float = 0.0
    otlp_grpc_max_connection_age: float = 0.0
    otlp_grpc_max_connection_age_grace: float = 0.0
    zipkin_host_port: HostPort | None = None  # None: no Zipkin receiver, as in Jaeger's collector
    zipkin_allowed_origins: tuple[str, ...] = ("*",)
    zipkin_allowed_headers: tuple[str, ...] = ("content-type",)
    zipkin_keep_alive: bool = True
    zipkin_limits: HttpLimits = HttpLimits()  # --collector.zipkin.*

    def validate(self) -> None:
        if self.queue_size <= 0:
            raise ConfigError("--collector.queue-size must be > 0")
        if self.num_workers <= 0:
            raise ConfigError("--collector.num-workers must be > 0")
        if self.ingest_processes < 0:
            raise ConfigError("--collector.ingest-processes must be >= 0 (0: one per CPU core)")
        if self.http_max_request_size <= 0:
            raise ConfigError("--collector.http.max-request-size must be > 0")
        if self.grpc_max_message_size <= 0:
            raise ConfigError("--collector.grpc-server.max-message-size must be > 0")
        self.http_limits.validate("collector.http-server")
        self.otlp_http_limits.validate("collector.otlp.http")
        self.zipkin_limits.validate("collector.zipkin")
