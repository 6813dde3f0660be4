"""`http_server_request_duration_seconds{component="agent"}`: exact counts for the agent's 5778 server
over a real socket, next to the query server's series in the same all-in-one registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from pyjaeger.agent.config import ReporterConfig
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config


def request_counts(registry: CollectorRegistry) -> dict[tuple[str, str, str, str], float]:
    """(component, method, route, status) → requests observed."""
    out = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == "http_server_request_duration_seconds_count":
                key = (
                    s.labels["component"],
                    s.labels["http_request_method"],
                    s.labels["http_route"],
                    s.labels["http_response_status_code"],
                )
                out[key] = s.value
    return out


async def test_agent_http_counts(make_app: Callable[..., Any]) -> None:
    app: App = await make_app("all-in-one")
    agent = app.server("agent HTTP server").port  # type: ignore[attr-defined]
    query = app.server("query HTTP server").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as c:
        base = f"http://127.0.0.1:{agent}"
        assert (await c.get(f"{base}/sampling", params={"service": "x"})).status_code == 200
        assert (await c.get(f"{base}/sampling", params={"service": "y"})).status_code == 200
        assert (await c.get(f"{base}/sampling")).status_code == 400  # no service
        assert (await c.get(f"{base}/", params={"service": "x"})).status_code == 200  # legacy form
        assert (await c.get(f"{base}/baggageRestrictions", params={"service": "x"})).status_code == 200
        assert (await c.get(f"{base}/baggageRestrictions")).status_code == 400
        assert (await c.get(f"{base}/nope")).status_code == 404
        # The query server shares the registry: its series carry their own component.
        assert (await c.get(f"http://127.0.0.1:{query}/api/services")).status_code == 200
    assert request_counts(app.registry) == {
        ("agent", "GET", "/sampling", "200"): 2,
        ("agent", "GET", "/sampling", "400"): 1,
        ("agent", "GET", "/", "200"): 1,
        ("agent", "GET", "/baggageRestrictions", "200"): 1,
        ("agent", "GET", "/baggageRestrictions", "400"): 1,
        ("agent", "GET", "", "404"): 1,
        ("query", "GET", "/api/services", "200"): 1,
    }


async def test_collector_errors_from_the_agent_are_counted(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config]
) -> None:
    """A standalone agent whose collector is unreachable answers 500 and counts it."""
    config = replace(loopback_config(), reporter=ReporterConfig(grpc_host_ports=("127.0.0.1:1",)))
    app: App = await make_app("agent", config)
    port = app.server("agent HTTP server").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.get(f"http://127.0.0.1:{port}/sampling", params={"service": "x"})
    assert r.status_code == 500
    assert request_counts(app.registry) == {("agent", "GET", "/sampling", "500"): 1}
