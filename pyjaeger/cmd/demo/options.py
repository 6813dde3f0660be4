"""What `pyjaeger demo` was asked to do, resolved from flags and the environment."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DemoOptions", "ServicePorts", "DEFAULT_PORTS"]


@dataclass(frozen=True, slots=True)
class ServicePorts:
    """0 takes a free port (tests); the start-up log line says which."""

    frontend: int = 8080
    customer: int = 8081
    driver: int = 8082
    route: int = 8083


DEFAULT_PORTS = ServicePorts()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    otlp_endpoint: str  # base URL; spans go to <url>/v1/traces
    agent: tuple[str, int] | None  # None: the driver reports over OTLP like the others
    rate: float  # frontend requests per second
    count: int  # 0: until SIGTERM/SIGINT
    listen_host: str
    ports: ServicePorts = DEFAULT_PORTS
    schedule_delay_ms: int = 1000  # BatchSpanProcessor delay: short, so spans show up quickly

    @property
    def otlp_traces_url(self) -> str:
        return self.otlp_endpoint.rstrip("/") + "/v1/traces"
