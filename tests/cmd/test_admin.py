"""Admin server: Jaeger's health document (503 until started and while draining) and /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from pyjaeger.cmd.admin import Health


def test_health_states() -> None:
    h = Health()
    code, body = h.body()
    assert code == 503
    assert body == {"status": "Server not available", "upSince": "0001-01-01T00:00:00Z", "uptime": ""}
    h.ready()
    code, body = h.body()
    assert code == 200 and body["status"] == "Server available"
    assert body["upSince"].endswith("Z") and body["uptime"].endswith("s")
    h.draining()
    assert h.body()[0] == 503


async def test_admin_routes(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    base = f"http://127.0.0.1:{app.admin.port}"
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/")
        assert r.status_code == 200 and r.json()["status"] == "Server available"
        assert r.headers["content-type"] == "application/json"
        metrics = (await c.get("/metrics")).text
        for name in (
            "jaeger_collector_queue_capacity",
            "jaeger_collector_queue_length",
            "jaeger_collector_spans_dropped_total",
            "jaeger_collector_in_queue_latency_bucket",
            "jaeger_collector_save_latency_bucket",
        ):
            assert name in metrics
        assert "_created" not in metrics
        assert (await c.get("/version")).json()["gitVersion"].startswith("v")
    await app.stop()
    assert app.health.body()[0] == 503
