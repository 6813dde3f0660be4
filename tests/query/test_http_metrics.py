"""`http_server_request_duration_seconds` on the query server: exact counts per route and status over a
real socket, the route template under a base path, and the middleware's edge cases on a bare app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from pyjaeger.cmd.app import App
from pyjaeger.http_metrics import UNMATCHED, instrument, route_templates
from pyjaeger.metrics import HttpServerMetrics

T0 = 1_700_000_000_000_000  # µs

Key = tuple[str, str, str, str]  # method, route, status, component


def request_counts(registry: CollectorRegistry, component: str) -> dict[Key, float]:
    """(method, route, status, component) → requests observed, for one component's series."""
    out: dict[Key, float] = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == "http_server_request_duration_seconds_count" and s.labels["component"] == component:
                key = (
                    s.labels["http_request_method"],
                    s.labels["http_route"],
                    s.labels["http_response_status_code"],
                    component,
                )
                out[key] = s.value
    return out


def bucket_total(registry: CollectorRegistry, route: str, status: str) -> float:
    value = registry.get_sample_value(
        "http_server_request_duration_seconds_bucket",
        {
            "component": "query",
            "http_request_method": "GET",
            "http_route": route,
            "http_response_status_code": status,
            "le": "+Inf",
        },
    )
    assert value is not None
    return value


async def seeded(make_app: Callable[..., Any], span: Callable[..., Any], **kw: Any) -> App:
    app: App = await make_app(**kw)
    assert app.storage is not None
    await app.storage.writer.write_spans([span(0x1, 0xA, service="frontend", operation="GET /", start=T0)])
    return app


async def test_counts_per_route_and_status(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    app = await seeded(make_app, span)
    port = app.server("query HTTP server").port  # type: ignore[attr-defined]
    window = {"start": T0 - 1_000_000, "end": T0 + 1_000_000}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        expected_status = [
            (c.get("/api/services"), 200),
            (c.get("/api/services"), 200),
            (c.get("/api/services/frontend/operations"), 200),
            (c.get("/api/traces/1"), 200),
            (c.get("/api/traces/ff"), 404),  # well-formed, not stored
            (c.get("/api/traces/zz"), 400),  # not a trace ID
            (c.get("/api/traces", params={"service": "frontend", **window}), 200),
            (c.get("/api/traces"), 400),  # no service
            (c.post("/api/services"), 405),
            (c.get("/api/nope"), 404),  # Jaeger's API 404, our catch-all route
            (c.get("/elsewhere"), 404),  # outside every route
        ]
        for call, status in expected_status:
            assert (await call).status_code == status

    def q(method: str, route: str, status: int) -> Key:
        return (method, route, str(status), "query")

    assert request_counts(app.registry, "query") == {
        q("GET", "/api/services", 200): 2,
        q("GET", "/api/services/{service}/operations", 200): 1,
        q("GET", "/api/traces/{traceID}", 200): 1,
        q("GET", "/api/traces/{traceID}", 404): 1,
        q("GET", "/api/traces/{traceID}", 400): 1,
        q("GET", "/api/traces", 200): 1,
        q("GET", "/api/traces", 400): 1,
        q("POST", "/api/services", 405): 1,
        q("GET", "/api/{rest}", 404): 1,
        q("GET", UNMATCHED, 404): 1,
    }
    # Histogram consistency: every observation landed in a bucket, with a positive duration.
    assert bucket_total(app.registry, "/api/services", "200") == 2
    total = app.registry.get_sample_value(
        "http_server_request_duration_seconds_sum",
        {
            "component": "query",
            "http_request_method": "GET",
            "http_route": "/api/services",
            "http_response_status_code": "200",
        },
    )
    assert total is not None and 0 < total < 5


async def test_route_leaves_out_the_base_path(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    app = await seeded(make_app, span, base_path="/jaeger")
    port = app.server("query HTTP server").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        assert (await c.get("/jaeger/api/traces/1")).status_code == 200
        assert (await c.get("/jaeger/api/services/frontend/operations")).status_code == 200
        assert (await c.get("/api/services")).status_code == 404  # not under the base path
    assert request_counts(app.registry, "query") == {
        ("GET", "/api/traces/{traceID}", "200", "query"): 1,
        ("GET", "/api/services/{service}/operations", "200", "query"): 1,
        ("GET", UNMATCHED, "404", "query"): 1,
    }


def test_route_templates_walk_mounts_and_drop_convertors() -> None:
    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    leaf = Route("/items/{item_id:int}", ok)
    deep = Route("/{rest:path}", ok)
    inner = Mount("/v1", routes=[leaf, Mount("/more", routes=[deep])])
    plain = Route("/", ok)
    templates = route_templates([inner, plain])
    assert templates == {id(leaf): "/v1/items/{item_id}", id(deep): "/v1/more/{rest}", id(plain): "/"}


@pytest.fixture
def bare() -> tuple[httpx.AsyncClient, CollectorRegistry]:
    """A small instrumented app: a route that raises, one that answers, under a base path."""

    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    registry = CollectorRegistry()
    app = Starlette(routes=[Mount("/base", routes=[Route("/boom", boom), Route("/ok/{x}", ok)])])
    instrument(app, HttpServerMetrics(registry), "test", base_path="/base/")
    # As uvicorn does, the client gets Starlette's 500 and the exception is not raised to it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test"), registry


async def test_unhandled_exception_counts_as_500(bare: tuple[httpx.AsyncClient, CollectorRegistry]) -> None:
    client, registry = bare
    async with client:
        assert (await client.get("/base/boom")).status_code == 500
        assert (await client.get("/base/ok/1")).status_code == 200
        assert (await client.get("/base/ok/2")).status_code == 200
        assert (await client.get("/base/nothing")).status_code == 404  # inside the mount, no route matched
    assert request_counts(registry, "test") == {
        ("GET", "/boom", "500", "test"): 1,
        ("GET", "/ok/{x}", "200", "test"): 2,
        ("GET", UNMATCHED, "404", "test"): 1,
    }


async def test_unknown_methods_share_one_label(bare: tuple[httpx.AsyncClient, CollectorRegistry]) -> None:
    client, registry = bare
    async with client:
        for method in ("FROB", "GRAB", "DELETE"):
            assert (await client.request(method, "/base/ok/1")).status_code == 405
    assert request_counts(registry, "test") == {
        ("_OTHER", "/ok/{x}", "405", "test"): 2,
        ("DELETE", "/ok/{x}", "405", "test"): 1,
    }
