"""The agent's HTTP 5778 over loopback: sampling in both JSON forms, baggage, parameter errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson

from pyjaeger.cmd.config import Config
from pyjaeger.sampling.config import SamplingConfig

STRATEGIES = {
    "default_strategy": {"type": "probabilistic", "param": 0.5},
    "service_strategies": [
        {"service": "limited", "type": "ratelimiting", "param": 7},
        {
            "service": "ops",
            "type": "probabilistic",
            "param": 0.8,
            "operation_strategies": [{"operation": "GET /health", "type": "probabilistic", "param": 0.01}],
        },
    ],
}


async def agent_client(make_app: Callable[..., Any], config: Config) -> httpx.AsyncClient:
    app = await make_app("all-in-one", config)
    port = app.server("agent HTTP server").port
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


async def test_sampling_forms(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    path = tmp_path / "strategies.json"
    path.write_bytes(orjson.dumps(STRATEGIES))
    config = replace(loopback_config(), sampling=SamplingConfig(strategies_file=str(path)))
    async with await agent_client(make_app, config) as c:
        r = await c.get("/sampling", params={"service": "limited"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == {
            "strategyType": "RATE_LIMITING",
            "rateLimitingSampling": {"maxTracesPerSecond": 7},
        }
        r = await c.get("/", params={"service": "limited"})
        assert r.json() == {"strategyType": 1, "rateLimitingSampling": {"maxTracesPerSecond": 7}}
        assert (await c.get("/sampling", params={"service": "other"})).json() == {
            "strategyType": "PROBABILISTIC",
            "probabilisticSampling": {"samplingRate": 0.5},
        }
        ops = (await c.get("/sampling", params={"service": "ops"})).json()
        assert ops["probabilisticSampling"] == {"samplingRate": 0.8}
        per_op = ops["operationSampling"]
        assert per_op["defaultSamplingProbability"] == 0.8
        assert per_op["perOperationStrategies"] == [
            {"operation": "GET /health", "probabilisticSampling": {"samplingRate": 0.01}}
        ]
        assert (await c.get("/baggageRestrictions", params={"service": "ops"})).json() == []
        for path_ in ("/sampling", "/", "/baggageRestrictions"):
            for params in ({}, {"service": ["a", "b"]}):
                r = await c.get(path_, params=params)
                assert r.status_code == 400
                assert r.text.strip() == "'service' parameter must be provided once"
