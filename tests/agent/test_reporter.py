"""Agent → collector forwarding over real gRPC/HTTP: delivery, outage with retry, overflow counted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pyjaeger.agent.config import AgentConfig, ReporterConfig, UDPServerConfig
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.hostport import HostPort

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
COMPACT = (CAPTURES / "py-jaeger-client-4.8.0_udp6831_compact.bin").read_bytes()
SPANS = decode_agent_message(COMPACT)
LOOPBACK = HostPort("127.0.0.1", 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agent_config(reporter: ReporterConfig) -> Config:
    return Config(
        agent=AgentConfig(UDPServerConfig(LOOPBACK), UDPServerConfig(LOOPBACK), LOOPBACK),
        reporter=reporter,
        admin=replace(Config().admin, http_host_port=LOOPBACK),
    )


def send_to_agent(agent: App) -> None:
    port = agent.server("agent UDP server (compact)").port  # type: ignore[attr-defined]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(COMPACT, ("127.0.0.1", port))


async def stored(collector: App, timeout: float = 10.0) -> bool:
    assert collector.storage is not None
    for _ in range(int(timeout / 0.02)):
        t = await collector.storage.reader.get_trace(SPANS[0].trace_id)
        if t is not None and len(t.spans) >= len(SPANS):
            return True
        await asyncio.sleep(0.02)
    return False


def metric(app: App, name: str, protocol: str = "grpc") -> float:
    return app.registry.get_sample_value(name, {"format": "jaeger", "protocol": protocol}) or 0.0


@pytest.mark.parametrize("kind", ["grpc", "http"])
async def test_forwards_to_collector(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], kind: str
) -> None:
    collector = await make_app("all-in-one")
    if kind == "grpc":
        port = collector.server("collector gRPC server").port
        reporter = ReporterConfig(grpc_host_ports=(f"127.0.0.1:{port}",))
    else:
        port = collector.server("collector HTTP server").port
        reporter = ReporterConfig(type="http", http_endpoint=f"http://127.0.0.1:{port}/api/traces")
    agent = await make_app("agent", agent_config(reporter))
    send_to_agent(agent)
    assert await stored(collector)
    assert metric(agent, "jaeger_agent_reporter_spans_submitted_total", kind) == len(SPANS)


async def test_outage_retries_then_delivers_and_overflow_is_counted(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config]
) -> None:
    port = free_port()
    reporter = ReporterConfig(grpc_host_ports=(f"127.0.0.1:{port}",), retry_max=1, queue_size=len(SPANS) + 1)
    agent = await make_app("agent", agent_config(reporter))
    send_to_agent(agent)
    for _ in range(500):
        if metric(agent, "jaeger_agent_reporter_batches_failures_total") >= 2:
            break
        await asyncio.sleep(0.01)
    assert metric(agent, "jaeger_agent_reporter_batches_failures_total") >= 2
    send_to_agent(agent)  # no room: 3 + 3 > 4
    for _ in range(500):
        if metric(agent, "jaeger_agent_reporter_spans_failures_total") == len(SPANS):
            break
        await asyncio.sleep(0.01)
    assert metric(agent, "jaeger_agent_reporter_spans_failures_total") == len(SPANS)
    base = loopback_config()
    collector_cfg = replace(
        base, collector=replace(base.collector, grpc_host_port=HostPort("127.0.0.1", port))
    )
    collector = await make_app("all-in-one", collector_cfg)
    assert await stored(collector)
    assert metric(agent, "jaeger_agent_reporter_spans_submitted_total") == len(SPANS)


async def test_agent_sampling_comes_from_the_collector(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config]
) -> None:
    import httpx

    port = free_port()
    agent = await make_app("agent", agent_config(ReporterConfig(grpc_host_ports=(f"127.0.0.1:{port}",))))
    url = f"http://127.0.0.1:{agent.server('agent HTTP server').port}/sampling"
    async with httpx.AsyncClient() as c:
        r = await c.get(url, params={"service": "s"})
        assert r.status_code == 500 and r.text.startswith("collector error:")
        base = loopback_config()
        await make_app(
            "all-in-one",
            replace(base, collector=replace(base.collector, grpc_host_port=HostPort("127.0.0.1", port))),
        )
        for _ in range(100):
            r = await c.get(url, params={"service": "s"})
            if r.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert r.json() == {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": 0.001}}
