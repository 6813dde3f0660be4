"""Typed configuration, parsed once from Jaeger-named flags and environment variables.

Components receive these objects; none of them reads the environment. Flag names, defaults and
help live in `pyjaeger.flags`; this module holds the shapes and their validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.hostport import HostPort

__all__ = [
    "ConfigError",
    "CollectorConfig",
    "MemoryConfig",
    "StorageConfig",
    "QueryConfig",
    "AdminConfig",
    "Config",
]

STORAGE_TYPES = ("memory",)
LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "fatal", "panic")


class ConfigError(ValueError):
    """A flag's value is unusable; the message names the flag."""


@dataclass(slots=True, frozen=True)
class CollectorConfig:
    queue_size: int = 2000
    num_workers: int = 50
    otlp_enabled: bool = True
    otlp_grpc_host_port: HostPort = HostPort("0.0.0.0", 4317)
    otlp_http_host_port: HostPort = HostPort("0.0.0.0", 4318)
    http_max_request_size: int = 20 * 1024 * 1024
    grpc_max_message_size: int = 4 * 1024 * 1024

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

    def validate(self) -> None:
        if self.span_storage_type not in STORAGE_TYPES:
            raise ConfigError(
                f"--span-storage.type: unknown storage type {self.span_storage_type!r}"
                f" (one of: {', '.join(STORAGE_TYPES)})"
            )
        self.memory.validate()


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
class Config:
    """Everything one process needs; parts a sub-command does not run keep their defaults."""

    collector: CollectorConfig = field(default_factory=CollectorConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    log_level: str = "info"

    def validate(self) -> None:
        self.collector.validate()
        self.storage.validate()
        self.query.validate()
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level: unknown level {self.log_level!r}")
