"""Where the agent's HTTP 5778 gets strategies: a local provider, or collectors (cached)."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import grpc
import orjson

from pyjaeger.agent.collectors import CollectorConnections
from pyjaeger.agent.config import ReporterConfig
from pyjaeger.codecs.api_v2_sampling import (
    GET_SAMPLING_STRATEGY_METHOD,
    decode_sampling_response,
    encode_sampling_request,
)
from pyjaeger.sampling.json import from_proto_dict
from pyjaeger.sampling.model import SamplingStrategy
from pyjaeger.sampling.provider import StrategyProvider

__all__ = ["StrategySource", "LocalStrategies", "CollectorStrategies"]

log = logging.getLogger(__name__)

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
        self._collectors = CollectorConnections(config, GET_SAMPLING_STRATEGY_METHOD, _TIMEOUT)

    async def start(self) -> None:
        self._collectors.open()

    async def stop(self) -> None:
        await self._collectors.close()

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
        http = self._collectors.http
        if http is not None:
            url = self._config.http_endpoint.rsplit("/api/", 1)[0] + "/api/sampling"
            r = await http.get(url, params={"service": service})
            r.raise_for_status()
            return from_proto_dict(orjson.loads(r.content))
        errors = []
        for _ in range(self._collectors.grpc_targets):
            try:
                reply = await self._collectors.next_call()(encode_sampling_request(service), timeout=_TIMEOUT)
                return from_proto_dict(decode_sampling_response(reply))
            except grpc.aio.AioRpcError as e:
                errors.append(f"{e.code().name}: {e.details()}")
        raise ConnectionError("; ".join(errors) or "no collectors configured")
