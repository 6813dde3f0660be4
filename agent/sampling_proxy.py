"""Where the agent's HTTP 5778 gets strategies: a local provider, or collectors (cached)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import grpc
import httpx
import orjson

from pyjaeger.agent.reporter import CHANNEL_OPTIONS
from pyjaeger.codecs.api_v2 import decode_sampling_response, encode_sampling_request
from pyjaeger.config import ReporterConfig
from pyjaeger.sampling.json import from_proto_dict
from pyjaeger.sampling.model import SamplingStrategy
from pyjaeger.sampling.provider import StrategyProvider

__all__ = ["StrategySource", "LocalStrategies", "CollectorStrategies", "GET_SAMPLING_STRATEGY"]

log = logging.getLogger(__name__)

GET_SAMPLING_STRATEGY = "/jaeger.api_v2.SamplingManager/GetSamplingStrategy"
CACHE_TTL = 60.0  # seconds a fetched strategy is served before it is fetched again
_TIMEOUT = 2.0


class StrategySource(Protocol):
    async def get(self, service: str) -> SamplingStrategy: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalStrategies:
    """The all-in-one's source: the same provider the collector serves."""

    def __init__(self, provider: StrategyProvider) -> None:
        self._provider = provider

    async def get(self, service: str) -> SamplingStrategy:
        return self._provider.get(service)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class CollectorStrategies:
    """Asks collectors (gRPC SamplingManager, or HTTP /api/sampling) and caches each answer.

    When every collector fails, a cached answer is served however old it is; with none, the
    error goes to the client as Jaeger's agent reports it (`collector error: ...`).
    """

    def __init__(self, config: ReporterConfig) -> None:
        self._config = config
        self._cache: dict[str, tuple[float, SamplingStrategy]] = {}
        self._channels: list[Any] = []
        self._calls: list[Any] = []
        self._http: httpx.AsyncClient | None = None
        self._next = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._config.type == "grpc":
            for target in self._config.grpc_host_ports:
                ch = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
                self._channels.append(ch)
                self._calls.append(ch.unary_unary(GET_SAMPLING_STRATEGY))
        else:
            self._http = httpx.AsyncClient(timeout=_TIMEOUT)

    async def stop(self) -> None:
        for ch in self._channels:
            await ch.close()
        self._channels, self._calls = [], []
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get(self, service: str) -> SamplingStrategy:
        cached = self._cache.get(service)
        if cached is not None and time.monotonic() - cached[0] < CACHE_TTL:
            return cached[1]
        try:
            strategy = await self._fetch(service)
        except Exception as e:
            if cached is not None:
                log.warning(
                    "sampling: collectors unreachable (%s); serving the cached strategy of %r", e, service
                )
                return cached[1]
            raise
        self._cache[service] = (time.monotonic(), strategy)
        return strategy

    async def _fetch(self, service: str) -> SamplingStrategy:
        if self._http is not None:
            url = self._config.http_endpoint.rsplit("/api/", 1)[0] + "/api/sampling"
            r = await self._http.get(url, params={"service": service})
            r.raise_for_status()
            return from_proto_dict(orjson.loads(r.content))
        errors = []
        for _ in range(len(self._calls)):
            call = self._calls[self._next % len(self._calls)]
            self._next += 1
            try:
                reply = await call(encode_sampling_request(service), timeout=_TIMEOUT)
                return from_proto_dict(decode_sampling_response(reply))
            except grpc.aio.AioRpcError as e:
                errors.append(f"{e.code().name}: {e.details()}")
        raise ConnectionError("; ".join(errors) or "no collectors configured")
