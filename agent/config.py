"""The agent's config: its UDP servers (`--processor.*`), its HTTP server, and the reporter that
forwards to collectors (`--reporter.*`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits

__all__ = ["UDPServerConfig", "AgentConfig", "ReporterConfig", "REPORTER_TYPES"]


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
    http_limits: HttpLimits = HttpLimits()  # --http-server.*

    def validate(self) -> None:
        self.compact.validate("jaeger-compact")
        self.binary.validate("jaeger-binary")
        self.http_limits.validate("http-server")


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
