"""`Config`: everything one process needs, composed of each component's own config.

Components receive their part and never read the environment; `pyjaeger.cmd.flags` fills this
from Jaeger-named flags and environment variables, taking every default from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.agent.config import AgentConfig, ReporterConfig
from pyjaeger.collector.config import CollectorConfig
from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits
from pyjaeger.query.config import QueryConfig
from pyjaeger.sampling.config import SamplingConfig
from pyjaeger.storage.config import StorageConfig

__all__ = ["AdminConfig", "Config", "LOG_LEVELS", "LOG_FORMATS"]

LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "fatal", "panic")
LOG_FORMATS = ("text", "json")


@dataclass(slots=True, frozen=True)
class AdminConfig:
    http_host_port: HostPort = HostPort("0.0.0.0", 14269)  # health at /, Prometheus at /metrics
    http_limits: HttpLimits = HttpLimits()  # --admin.http.*


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
        self.admin.http_limits.validate("admin.http")
        if command == "agent":
            self.reporter.validate()
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level: unknown level {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(
                f"--log-format: unknown format {self.log_format!r} (one of: {', '.join(LOG_FORMATS)})"
            )
