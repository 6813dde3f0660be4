"""Jaeger's query HTTP API over a real socket: shapes, search forms, and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pyjaeger.cmd.app import App

T0 = 1_700_000_000_000_000  # µs


async def seeded(
    make_app: Callable[..., Any], span: Callable[..., Any], **kw: Any
) -> tuple[App, httpx.AsyncClient]:
    app: App = await make_app(**kw)
    spans = [
        span(
            0x1,
            0xA,
            service="frontend",
            operation="GET /",
            start=T0,
            duration=5000,
            tags={"span.kind": "server", "http.status_code": 200},
            process_tags={"hostname": "h1"},
        ),
        span(
            0x1,
            0xB,
            parent=0xA,
            service="backend",
            operation="query",
            start=T0 + 100,
            duration=3000,
            tags={"span.kind": "client", "error": True},
        ),
        span(0x1, 0xC, parent=0xB, service="db", operation="select", start=T0 + 200, duration=1000),
        span(
            0x2,
            0xD,
            service="frontend",
            operation="GET /health",
            start=T0 + 10_000,
            duration=50,
            tags={"span.kind": "server"},
        ),
        span(
            (0xFEED << 64) | 0x3,
            0xE,
            service="frontend",
            operation="GET /",
            start=T0 + 20_000,
            duration=7000,
            tags={"span.kind": "server", "http.status_code": 500},
        ),
    ]
    await app.storage.writer.write_spans(spans)
    port = app.server("query HTTP server").port  # type: ignore[attr-defined]
    return app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


def window() -> dict[str, int]:
    return {"start": T0 - 1_000_000, "end": T0 + 1_000_000}


async def test_services_and_operations(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        body = (await c.get("/api/services")).json()
        assert body == {
            "data": ["backend", "db", "frontend"],
            "total": 3,
            "limit": 0,
            "offset": 0,
            "errors": None,
        }
        body = (await c.get("/api/services/frontend/operations")).json()
        assert sorted(body["data"]) == ["GET /", "GET /health"] and body["total"] == 2
        body = (await c.get("/api/operations", params={"service": "backend"})).json()
        assert body["data"] == [{"name": "query", "spanKind": "client"}]
        body = (await c.get("/api/operations", params={"service": "frontend", "spanKind": "client"})).json()
        assert body["data"] == [] and body["total"] == 0
        r = await c.get("/api/operations")
        assert r.status_code == 400
        assert r.json()["errors"][0] == {"code": 400, "msg": "parameter 'service' is required"}


async def test_trace_by_id(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.get("/api/traces/1")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        trace = r.json()["data"][0]
        assert trace["traceID"] == "0000000000000001"
        spans = {s["spanID"]: s for s in trace["spans"]}
        assert set(spans) == {"000000000000000a", "000000000000000b", "000000000000000c"}
        b = spans["000000000000000b"]
        assert b["references"] == [
            {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "000000000000000a"}
        ]
        assert b["startTime"] == T0 + 100 and b["duration"] == 3000
        assert {"key": "error", "type": "bool", "value": True} in b["tags"]
        assert trace["processes"][b["processID"]]["serviceName"] == "backend"
        a = spans["000000000000000a"]
        assert trace["processes"][a["processID"]] == {
            "serviceName": "frontend",
            "tags": [{"key": "hostname", "type": "string", "value": "h1"}],
        }
        long_id = f"{0xFEED:016x}{3:016x}"
        assert (await c.get(f"/api/traces/{long_id}")).json()["data"][0]["traceID"] == long_id


async def test_search_forms(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)

    async def ids(**params: Any) -> list[str]:
        r = await c.get("/api/traces", params={**window(), **params})
        assert r.status_code == 200, r.text
        return [t["traceID"] for t in r.json()["data"]]

    long_id = f"{0xFEED:016x}{3:016x}"
    async with c:
        assert await ids(service="frontend") == [long_id, "0000000000000002", "0000000000000001"]
        assert await ids(service="frontend", limit=1) == [long_id]
        assert await ids(service="frontend", operation="GET /") == [long_id, "0000000000000001"]
        assert await ids(service="frontend", tags=json.dumps({"http.status_code": "500"})) == [long_id]
        assert await ids(service="backend", tag="error:true") == ["0000000000000001"]
        assert await ids(service="frontend", tag="hostname:h1") == ["0000000000000001"]
        assert await ids(service="frontend", minDuration="6ms") == [long_id]
        assert await ids(service="frontend", maxDuration="1ms") == ["0000000000000002"]
        assert await ids(service="frontend", minDuration="1ms", maxDuration="5ms") == ["0000000000000001"]
        assert await ids(service="nobody") == []
        # conditions must hold on one span: frontend + error=true (on backend's span) is no match
        assert await ids(service="frontend", tag="error:true") == []
        r = await c.get(
            "/api/traces", params={"service": "frontend", "start": T0 + 15_000, "end": T0 + 30_000}
        )
        assert [t["traceID"] for t in r.json()["data"]] == [long_id]
        # whole traces come back, not only the matching spans
        r = await c.get("/api/traces", params={**window(), "service": "db"})
        assert len(r.json()["data"][0]["spans"]) == 3


async def test_multi_get_by_trace_ids(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.get("/api/traces", params=[("traceID", "1"), ("traceID", "2"), ("traceID", "99")])
        body = r.json()
        assert r.status_code == 200
        assert [t["traceID"] for t in body["data"]] == ["0000000000000001", "0000000000000002"]
        assert body["errors"] == [{"msg": "trace not found", "traceID": "0000000000000099"}]


async def test_dependencies(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        end_ms = (T0 + 1_000_000) // 1000
        body = (await c.get("/api/dependencies", params={"endTs": end_ms, "lookback": 3_600_000})).json()
        assert sorted(body["data"], key=lambda d: d["parent"]) == [
            {"parent": "backend", "child": "db", "callCount": 1},
            {"parent": "frontend", "child": "backend", "callCount": 1},
        ]
        body = (await c.get("/api/dependencies", params={"endTs": end_ms - 10_000, "lookback": 1000})).json()
        assert body["data"] == []


@pytest.mark.parametrize(
    ("path", "params", "status", "msg_part"),
    [
        ("/api/traces", {"service": "frontend", "limit": "abc"}, 400, "limit"),
        ("/api/traces", {"service": "frontend", "minDuration": "5x"}, 400, "minDuration"),
        ("/api/traces", {"service": "frontend", "tags": "{bad"}, 400, "tags"),
        ("/api/traces", {"service": "frontend", "tag": "nocolon"}, 400, "tag"),
        ("/api/traces", {"service": "frontend", "start": "yesterday"}, 400, "start"),
        ("/api/traces", {}, 400, "service"),
        ("/api/traces", {"traceID": "xyz"}, 400, "xyz"),
        ("/api/traces/not-hex", {}, 400, "not-hex"),
        ("/api/traces/" + "1" * 33, {}, 400, "1" * 33),
        ("/api/traces/abcdef", {}, 404, "trace not found"),
        ("/api/traces/1", {"raw": "maybe"}, 400, "raw"),
        ("/api/dependencies", {"endTs": "soon"}, 400, "endTs"),
        ("/api/nothing-here", {}, 404, ""),
    ],
)
async def test_errors_in_jaegers_shape(
    make_app: Callable[..., Any],
    span: Callable[..., Any],
    path: str,
    params: dict[str, str],
    status: int,
    msg_part: str,
) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.get(path, params=params)
        assert r.status_code == status
        body = json.loads(r.text)
        assert body["data"] is None
        assert body["errors"][0]["code"] == status
        assert msg_part in body["errors"][0]["msg"]
        # and the server keeps serving
        assert (await c.get("/api/services")).status_code == 200


async def test_base_path_and_pretty_print(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span, base_path="/jaeger")
    async with c:
        assert (await c.get("/api/services")).status_code == 404
        r = await c.get("/jaeger/api/services", params={"prettyPrint": "true"})
        assert r.status_code == 200
        assert r.text.startswith('{\n    "data": [')
