"""Typed configuration, parsed once from Jaeger-named flags and environment variables.

Components receive these objects; none of them reads the environment. Flag names, defaults and
help live in `pyjaeger.flags`; this module holds the shapes and their validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.sqlite.config import SqliteConfig

__all__ = [
    "ConfigError",
    "CollectorConfig",
    "MemoryConfig",
    "StorageConfig",
    "QueryConfig",
    "AdminConfig",
    "SamplingConfig",
    "UDPServerConfig",
    "AgentConfig",
    "ReporterConfig",
    "Config",
]

STORAGE_TYPES = ("memory", "sqlite", "elasticsearch")
LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "fatal", "panic")
LOG_FORMATS = ("text", "json")


@dataclass(slots=True, frozen=True)
class CollectorConfig:
    queue_size: int = 2000
    num_workers: int = 50
    otlp_enabled: bool = True
    otlp_grpc_host_port: HostPort = HostPort("0.0.0.0", 4317)
    otlp_http_host_port: HostPort = HostPort("0.0.0.0", 4318)
    http_host_port: HostPort = HostPort("0.0.0.0", 14268)
    grpc_host_port: HostPort = HostPort("0.0.0.0", 14250)
    http_max_request_size: int = 20 * 1024 * 1024
    grpc_max_message_size: int = 4 * 1024 * 1024
    zipkin_host_port: HostPort | None = None  # None: no Zipkin receiver, as in Jaeger's collector
    zipkin_allowed_origins: tuple[str, ...] = ("*",)
    zipkin_allowed_headers: tuple[str, ...] = ("content-type",)
    zipkin_keep_alive: bool = True

    def validate(self) -> None:
        if self.queue_size <= 0:
            raise ConfigError("--collector.queue-size must be > 0")
        if self.num_workers <= 0:
            raise ConfigError("--collector.num-workers must be > 0")
        if self.http_max_request_size <= 0:
            raise ConfigError("--collector.http.max-request-size must be > 0")
        if self.grpc_max_message_size <= 0:
            raise ConfigError("--collector.grpc-server.max-message-size must be > 0")


@dataclass(slots=True, frozen=True)
class MemoryConfig:
    max_traces: int = 100_000  # 0: no limit

    def validate(self) -> None:
        if self.max_traces < 0:
            raise ConfigError("--memory.max-traces must be >= 0")


@dataclass(slots=True, frozen=True)
class StorageConfig:
    span_storage_type: str = "memory"
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    elasticsearch: ElasticsearchConfig = field(default_factory=ElasticsearchConfig)
    sqlite: SqliteConfig = field(default_factory=SqliteConfig)

    def validate(self) -> None:
        if self.span_storage_type not in STORAGE_TYPES:
            raise ConfigError(
                f"--span-storage.type: unknown storage type {self.span_storage_type!r}"
                f" (one of: {', '.join(STORAGE_TYPES)})"
            )
        self.memory.validate()
        if self.span_storage_type == "elasticsearch":
            self.elasticsearch.validate()
        if self.span_storage_type == "sqlite":
            self.sqlite.validate()


@dataclass(slots=True, frozen=True)
class QueryConfig:
    http_host_port: HostPort = HostPort("0.0.0.0", 16686)
    base_path: str = "/"

    def validate(self) -> None:
        bp = self.base_path
        if not bp.startswith("/") or (len(bp) > 1 and bp.endswith("/")):
            raise ConfigError("--query.base-path must start with '/' and must not end with '/'")


@dataclass(slots=True, frozen=True)
class AdminConfig:
    http_host_port: HostPort = HostPort("0.0.0.0", 14269)


@dataclass(slots=True, frozen=True)
class SamplingConfig:
    strategies_file: str = ""
    reload_interval: float = 0.0  # seconds; 0: never reload
    default_probability: float = 0.001

    def validate(self) -> None:
        if self.reload_interval < 0:
            raise ConfigError("--sampling.strategies-reload-interval must be >= 0")
        if not 0 <= self.default_probability <= 1:
            raise ConfigError("--sampling.default-sampling-probability must be within [0, 1]")


@dataclass(slots=True, frozen=True)
class UDPServerConfig:
    """One `--processor.<name>.*` group: a UDP port taking thrift emitBatch datagrams."""

    host_port: HostPort
    queue_size: int = 1000  # datagrams waiting to be decoded
    workers: int = 10  # accepted for Jaeger compatibility; decoding runs on the event loop
    max_packet_size: int = 65000
    socket_buffer_size: int = 16 * 1024 * 1024  # requested; the kernel may grant less

    def validate(self, flag: str) -> None:
        if self.queue_size <= 0:
            raise ConfigError(f"--processor.{flag}.server-queue-size must be > 0")
        if not 0 < self.max_packet_size <= 65535:
            raise ConfigError(f"--processor.{flag}.server-max-packet-size must be within 1..65535")
        if self.socket_buffer_size < 0:
            raise ConfigError(f"--processor.{flag}.server-socket-buffer-size must be >= 0")


@dataclass(slots=True, frozen=True)
class AgentConfig:
    compact: UDPServerConfig = field(default_factory=lambda: UDPServerConfig(HostPort("0.0.0.0", 6831)))
    binary: UDPServerConfig = field(default_factory=lambda: UDPServerConfig(HostPort("0.0.0.0", 6832)))
    http_host_port: HostPort = HostPort("0.0.0.0", 5778)

    def validate(self) -> None:
        self.compact.validate("jaeger-compact")
        self.binary.validate("jaeger-binary")


REPORTER_TYPES = ("grpc", "http")


@dataclass(slots=True, frozen=True)
class ReporterConfig:
    type: str = "grpc"
    grpc_host_ports: tuple[str, ...] = ()
    http_endpoint: str = ""
    retry_max: int = 3
    queue_size: int = 100_000  # spans held while no collector takes them

    def validate(self) -> None:
        if self.type not in REPORTER_TYPES:
            raise ConfigError(f"--reporter.type must be one of {', '.join(REPORTER_TYPES)}")
        if self.type == "grpc" and not self.grpc_host_ports:
            raise ConfigError("--reporter.grpc.host-port is required (a comma-separated list of collectors)")
        if self.type == "http" and not self.http_endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                "--reporter.http.endpoint must be an http(s) URL, e.g. http://collector:14268/api/traces"
            )
        if self.retry_max < 0:
            raise ConfigError("--reporter.grpc.retry.max must be >= 0")
        if self.queue_size <= 0:
            raise ConfigError("--reporter.queue-size must be > 0")


@dataclass(slots=True, frozen=True)
class Config:
    """Everything one process needs; parts a sub-command does not run keep their defaults."""

    collector: CollectorConfig = field(default_factory=CollectorConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    reporter: ReporterConfig = field(default_factory=ReporterConfig)
    log_level: str = "info"
    log_format: str = "text"  # text: human-readable lines; json: one object per line

    def validate(self, command: str = "all-in-one") -> None:
        self.collector.validate()
        self.storage.validate()
        self.query.validate()
        self.sampling.validate()
        self.agent.validate()
        if command == "agent":
            self.reporter.validate()
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level: unknown level {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(
                f"--log-format: unknown format {self.log_format!r} (one of: {', '.join(LOG_FORMATS)})"
            )
