"""The agent's connections to its collectors: a gRPC channel per collector, or one HTTP client."""

from __future__ import annotations

from typing import Any

import grpc
import httpx

from pyjaeger.agent.config import ReporterConfig

__all__ = ["CollectorConnections", "CHANNEL_OPTIONS"]

# grpc's own reconnect backoff grows to minutes by default; a collector that comes back should
# be used within seconds.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class CollectorConnections:
    """Calls of one gRPC method, taken round-robin over the collectors; or, with
    `--reporter.type=http`, an HTTP client (`http`)."""

    def __init__(self, config: ReporterConfig, grpc_method: str, timeout: float) -> None:
        self._config = config
        self._method = grpc_method
        self._timeout = timeout
        self._channels: list[Any] = []
        self._calls: list[Any] = []
        self._next = 0
        self.http: httpx.AsyncClient | None = None

    def open(self) -> None:
        if self._config.type == "grpc":
            for target in self._config.grpc_host_ports:
                channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
                self._channels.append(channel)
                self._calls.append(channel.unary_unary(self._method))
        else:
            self.http = httpx.AsyncClient(timeout=self._timeout)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        self._channels, self._calls = [], []
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    @property
    def grpc_targets(self) -> int:
        return len(self._calls)

    def next_call(self) -> Any:
        """The method on the next collector in turn."""
        call = self._calls[self._next % len(self._calls)]
        self._next += 1
        return call
