"""Jaeger's `host:port` listen addresses (":4317" means every interface)."""

from __future__ import annotations

__all__ = ["HostPort", "parse_host_port"]

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host_port(value: str) -> HostPort:
    """Parse `host:port`, `:port`, `[v6]:port`; an empty host binds every IPv4 interface."""
    host, sep, port_s = value.rpartition(":")
    if not sep:
        raise ValueError(f"{value!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_s)
    except ValueError:
        raise ValueError(f"{value!r}: port {port_s!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{value!r}: port out of range")
    return HostPort(host or "0.0.0.0", port)
