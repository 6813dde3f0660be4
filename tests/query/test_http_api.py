"""Jaeger's query HTTP API over a real socket: shapes, search forms, transform, metrics, and errors."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pyjaeger.cmd.app import App
from pyjaeger.query import http_api

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


async def test_operations_by_kind(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    _, c = await seeded(make_app, span)

    async def ops(*params: tuple[str, str]) -> list[dict[str, str]]:
        r = await c.get("/api/operations", params=list(params))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["data"]) and body["errors"] is None
        return sorted(body["data"], key=lambda o: (o["name"], o["spanKind"]))

    async with c:
        server_ops = [{"name": "GET /", "spanKind": "server"}, {"name": "GET /health", "spanKind": "server"}]
        assert await ops(("service", "frontend")) == server_ops
        assert await ops(("service", "frontend"), ("spanKind", "server")) == server_ops
        assert await ops(("service", "backend"), ("spanKind", "client")) == [
            {"name": "query", "spanKind": "client"}
        ]
        # a span without span.kind has the empty kind, as in Jaeger's v1 stores
        assert await ops(("service", "db")) == [{"name": "select", "spanKind": ""}]
        # Jaeger takes the first value and passes any kind on: an unknown one matches nothing
        assert await ops(("service", "backend"), ("service", "frontend")) == [
            {"name": "query", "spanKind": "client"}
        ]
        assert await ops(("service", "frontend"), ("spanKind", "bogus")) == []
        for params in ([], [("service", "")], [("spanKind", "server")]):
            r = await c.get("/api/operations", params=params)
            assert r.status_code == 400
            assert r.json()["errors"] == [{"code": 400, "msg": "parameter 'service' is required"}]


# --- POST /api/transform -----------------------------------------------------------------------

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
OTLP_CAPTURES = sorted(p.name for p in CAPTURES.glob("otel-otlp-*.bin"))


def otlp_json(proto: bytes) -> bytes:
    """A captured OTLP protobuf request in OTLP/JSON, as the UI uploads it: protobuf's JSON
    mapping with the ids in hex."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    req.ParseFromString(proto)
    doc = json_format.MessageToDict(req, use_integers_for_enums=True)

    def hex_ids(node: Any) -> Any:
        if isinstance(node, list):
            return [hex_ids(v) for v in node]
        if not isinstance(node, dict):
            return node
        return {
            k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else hex_ids(v)
            for k, v in node.items()
        }

    return json.dumps(hex_ids(doc)).encode()


def port_of(app: App, name: str) -> int:
    return int(app.listeners()[name].rsplit(":", 1)[1])


@pytest.mark.parametrize("name", OTLP_CAPTURES)
async def test_transform_gives_what_the_stored_trace_gives(make_app: Callable[..., Any], name: str) -> None:
    proto = (CAPTURES / name).read_bytes()
    app: App = await make_app()
    query = f"http://127.0.0.1:{port_of(app, 'query HTTP server')}"
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"http://127.0.0.1:{port_of(app, 'OTLP HTTP receiver')}/v1/traces",
            content=proto,
            headers={"content-type": "application/x-protobuf"},
        )
        assert r.status_code == 200
        r = await c.post(f"{query}/api/transform", content=otlp_json(proto))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert (body["total"], body["limit"], body["offset"], body["errors"]) == (0, 0, 0, None)
        [trace] = body["data"]
        assert len(trace["spans"]) == 3 and trace["warnings"] is None
        assert trace["processes"]["p1"]["serviceName"].startswith("demo-otlp-")
        # the same spans sent to the OTLP receiver, read back without the query-time adjusters
        # (Jaeger's transform runs none)
        for _ in range(500):
            stored = await c.get(f"{query}/api/traces/{trace['traceID']}", params={"raw": "true"})
            if stored.status_code == 200 and len(stored.json()["data"][0]["spans"]) == 3:
                break
            await asyncio.sleep(0.01)
        assert stored.json()["data"] == body["data"]


def otlp_span(trace_id: str, span_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000002000000",
        **fields,
    }


async def test_transform_groups_spans_by_trace(
    make_app: Callable[..., Any], span: Callable[..., Any]
) -> None:
    a, b = "0000000000000000000000000000000a", "000000000000000b000000000000000b"
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "up"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "lib", "version": "1.0"},
                        "spans": [
                            otlp_span(b, "00000000000000b1", "b-root", kind=2),
                            otlp_span(a, "00000000000000a1", "a-root", kind=2),
                            otlp_span(
                                b,
                                "00000000000000b2",
                                "b-child",
                                parentSpanId="00000000000000b1",
                                kind=3,
                                status={"code": 2, "message": "boom"},
                                attributes=[{"key": "n", "value": {"intValue": "9007199254740993"}}],
                                events=[
                                    {
                                        "timeUnixNano": "1700000000001000000",
                                        "name": "retry",
                                        "attributes": [{"key": "ok", "value": {"boolValue": False}}],
                                    }
                                ],
                            ),
                        ],
                    }
                ],
            }
        ]
    }
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.post("/api/transform", json=doc)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        # traces in order of their first span, 64-bit ids in 16 digits as everywhere in the API
        assert [t["traceID"] for t in data] == [b, a[16:]]
        assert [[s["operationName"] for s in t["spans"]] for t in data] == [["b-root", "b-child"], ["a-root"]]
        child = data[0]["spans"][1]
        assert child["references"] == [{"refType": "CHILD_OF", "traceID": b, "spanID": "00000000000000b1"}]
        assert child["startTime"] == 1_700_000_000_000_000 and child["duration"] == 2000
        assert child["tags"] == [
            {"key": "otel.scope.name", "type": "string", "value": "lib"},
            {"key": "otel.scope.version", "type": "string", "value": "1.0"},
            {"key": "n", "type": "int64", "value": "9007199254740993"},
            {"key": "span.kind", "type": "string", "value": "client"},
            {"key": "otel.status_code", "type": "string", "value": "ERROR"},
            {"key": "error", "type": "bool", "value": True},
            {"key": "otel.status_description", "type": "string", "value": "boom"},
        ]
        assert child["logs"] == [
            {
                "timestamp": 1_700_000_000_001_000,
                "fields": [
                    {"key": "event", "type": "string", "value": "retry"},
                    {"key": "ok", "type": "bool", "value": False},
                ],
            }
        ]
        assert data[0]["processes"] == {"p1": {"serviceName": "up", "tags": []}}
        # nothing was stored
        assert (await c.get(f"/api/traces/{b}")).status_code == 404

        r = await c.post("/api/transform", content=b"{}")
        assert r.status_code == 200 and r.json()["data"] == []
        r = await c.post("/api/transform", params={"prettyPrint": "1"}, content=b"{}")
        assert r.text.startswith('{\n    "data": [],')


@pytest.mark.parametrize(
    ("content", "headers", "status", "msg_part"),
    [
        (b"", {}, 400, "cannot unmarshal OTLP : invalid JSON"),
        (b"{not json", {}, 400, "cannot unmarshal OTLP : invalid JSON"),
        (b"[]", {}, 400, "cannot unmarshal OTLP : "),
        (b'{"resourceSpans": {}}', {}, 400, "resourceSpans"),
        (
            json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [otlp_span("xyz", "01" * 8, "s")]}]}]}
            ).encode(),
            {},
            400,
            "traceId",
        ),
        (
            json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [otlp_span("ab" * 8, "01" * 8, "s")]}]}]}
            ).encode(),
            {},
            400,
            "traceId must be 32 hex digits",
        ),
        (b"\x1f\x8bnot gzip", {"content-encoding": "gzip"}, 400, "gzip"),
        (b'{"resourceSpans": []}' + b" " * 2048, {}, 413, "limit of 1024 bytes"),
    ],
)
async def test_transform_bad_bodies(
    make_app: Callable[..., Any],
    span: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    headers: dict[str, str],
    status: int,
    msg_part: str,
) -> None:
    monkeypatch.setattr(http_api, "MAX_TRANSFORM_BODY", 1024)
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.post("/api/transform", content=content, headers=headers)
        assert r.status_code == status, r.text
        body = json.loads(r.text)
        assert body["data"] is None and body["errors"][0]["code"] == status
        assert msg_part in body["errors"][0]["msg"]
        assert (await c.get("/api/transform")).status_code == 405
        # and the server keeps serving
        assert (await c.post("/api/transform", content=b"{}")).status_code == 200


async def test_transform_gzip_body(make_app: Callable[..., Any], span: Callable[..., Any]) -> None:
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [otlp_span("ab" * 16, "01" * 8, "zipped")]}]}]}
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.post(
            "/api/transform",
            content=gzip.compress(json.dumps(doc).encode()),
            headers={"content-encoding": "gzip"},
        )
        assert r.status_code == 200
        assert r.json()["data"][0]["spans"][0]["operationName"] == "zipped"


# --- GET /api/metrics/* --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("latencies", {"service": "frontend", "quantile": "0.95"}),
        ("latencies", {"service": "", "quantile": "1e-2", "spanKind": "SERVER", "groupByOperation": "t"}),
        ("calls", {"service": "frontend"}),
        ("calls", [("service", "a"), ("service", "b"), ("spanKind", "client"), ("spanKind", "Unspecified")]),
        (
            "errors",
            {
                "service": "x",
                "endTs": "1700000000000",
                "lookback": "3600000",
                "step": "60000",
                "ratePer": "600000",
            },
        ),
        ("minstep", {}),
    ],
)
async def test_metrics_without_a_metrics_store(
    make_app: Callable[..., Any], span: Callable[..., Any], path: str, params: Any
) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.get(f"/api/metrics/{path}", params=params)
        assert r.status_code == 501
        assert json.loads(r.text) == {
            "data": None,
            "total": 0,
            "limit": 0,
            "offset": 0,
            "errors": [
                {"code": 501, "msg": "trace metrics are currently disabled - no metrics backend configured"}
            ],
        }


@pytest.mark.parametrize(
    ("path", "params", "msg"),
    [
        (
            "latencies",
            {"service": "a"},
            "unable to parse param 'quantile': strconv.ParseFloat: parsing \"\": invalid syntax",
        ),
        (
            "latencies",
            {"quantile": "0.5"},
            "unable to parse param 'service': please provide at least one service name",
        ),
        # quantile is checked before service, as in Jaeger
        (
            "latencies",
            {"quantile": "high"},
            "unable to parse param 'quantile': strconv.ParseFloat: parsing \"high\": invalid syntax",
        ),
        ("calls", {}, "unable to parse param 'service': please provide at least one service name"),
        (
            "errors",
            {"service": "a", "groupByOperation": "maybe"},
            "unable to parse param 'groupByOperation': strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
        (
            "calls",
            {"service": "a", "spanKind": "SPAN_KIND_SERVER"},
            "unable to parse param 'spanKind': unsupported span kind: 'SPAN_KIND_SERVER'",
        ),
        (
            "calls",
            {"service": "a", "spanKind": ""},
            "unable to parse param 'spanKind': unsupported span kind: ''",
        ),
        (
            "calls",
            {"service": "a", "endTs": "now"},
            "unable to parse param 'endTs': strconv.ParseInt: parsing \"now\": invalid syntax",
        ),
        (
            "errors",
            {"service": "a", "lookback": "1h"},
            "unable to parse param 'lookback': strconv.ParseInt: parsing \"1h\": invalid syntax",
        ),
        (
            "errors",
            {"service": "a", "step": "1.5"},
            "unable to parse param 'step': strconv.ParseInt: parsing \"1.5\": invalid syntax",
        ),
        (
            "latencies",
            {"service": "a", "quantile": "0.5", "ratePer": "99999999999999999999"},
            "unable to parse param 'ratePer': strconv.ParseInt: parsing \"99999999999999999999\": "
            "value out of range",
        ),
    ],
)
async def test_metrics_bad_parameters(
    make_app: Callable[..., Any], span: Callable[..., Any], path: str, params: dict[str, str], msg: str
) -> None:
    _, c = await seeded(make_app, span)
    async with c:
        r = await c.get(f"/api/metrics/{path}", params=params)
        assert r.status_code == 400
        assert json.loads(r.text)["errors"] == [{"code": 400, "msg": msg}]
