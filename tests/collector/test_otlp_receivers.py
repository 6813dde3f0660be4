"""OTLP receivers over real loopback sockets: good input stored, bad input refused clearly."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from pyjaeger.cmd.app import App
from pyjaeger.collector.otlp_grpc import SERVICE_NAME

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
OTLP_BIN = (CAPTURES / "otel-otlp-grpc-1.45.2_ExportTraceServiceRequest.bin").read_bytes()
OTLP_TRACE_ID = int.from_bytes(bytes.fromhex("27c46cbb6c4dacdb340f92eaea04ee18"), "big")
GARBAGE = b"\xff\xff\xff\xff\xff\xff"

# A minimal OTLP/JSON request: one span of service json-svc.
OTLP_JSON = (
    b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},'
    b'"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000abcd","spanId":"00000000000000ef",'
    b'"name":"j","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000"}]}]}]}'
)


async def wait_trace(app: App, trace_id: int, n: int = 1) -> Any:
    for _ in range(200):
        t = await app.storage.reader.get_trace(trace_id)
        if t is not None and len(t.spans) >= n:
            return t
        await asyncio.sleep(0.01)
    raise AssertionError(f"trace {trace_id:x} not stored")


def http_url(app: App) -> str:
    return f"http://127.0.0.1:{app.server('OTLP HTTP receiver').port}/v1/traces"  # type: ignore[attr-defined]


def grpc_export(app: App, **channel_opts: Any) -> Callable[[bytes], Any]:
    port = app.server("OTLP gRPC receiver").port  # type: ignore[attr-defined]
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=list(channel_opts.items()))
    call = channel.unary_unary(f"/{SERVICE_NAME}/Export")

    async def export(body: bytes) -> Any:
        try:
            return await call(body, timeout=5)
        finally:
            await channel.close()

    return export


PROTO = {"content-type": "application/x-protobuf"}


async def test_http_protobuf_stored(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    async with httpx.AsyncClient() as c:
        r = await c.post(http_url(app), content=OTLP_BIN, headers=PROTO)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    trace = await wait_trace(app, OTLP_TRACE_ID, 3)
    assert {s.operation_name for s in trace.spans} == {"root", "child-1", "child-2"}


async def test_http_gzip_and_json(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    async with httpx.AsyncClient() as c:
        r = await c.post(
            http_url(app), content=gzip.compress(OTLP_BIN), headers={**PROTO, "content-encoding": "gzip"}
        )
        assert r.status_code == 200
        r = await c.post(http_url(app), content=OTLP_JSON, headers={"content-type": "application/json"})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {}
    await wait_trace(app, OTLP_TRACE_ID, 3)
    trace = await wait_trace(app, 0xABCD)
    assert trace.spans[0].process.service_name == "json-svc"


async def test_http_bad_input_then_good(make_app: Callable[..., Any]) -> None:
    app = await make_app(http_max_request_size=64 * 1024)
    url = http_url(app)
    async with httpx.AsyncClient() as c:
        r = await c.post(url, content=GARBAGE, headers=PROTO)
        assert r.status_code == 400 and r.content  # google.rpc.Status with a message
        r = await c.post(url, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json()["code"] == 3 and r.json()["message"]
        r = await c.post(url, content=b"x" * (64 * 1024 + 1), headers=PROTO)
        assert r.status_code == 413

        async def chunks() -> Any:
            for _ in range(100):
                yield b"x" * 1024

        r = await c.post(url, content=chunks(), headers=PROTO)
        assert r.status_code == 413
        bomb = gzip.compress(b"\0" * (10 * 1024 * 1024))
        r = await c.post(url, content=bomb, headers={**PROTO, "content-encoding": "gzip"})
        assert r.status_code == 413
        r = await c.post(url, content=b"\x1f\x8bnot gzip", headers={**PROTO, "content-encoding": "gzip"})
        assert r.status_code == 400
        r = await c.post(url, content=OTLP_BIN, headers={"content-type": "text/<b>plain"})
        assert r.status_code == 415
        # The message echoes the content type: no browser may read it as anything but text.
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith("text/plain")
        r = await c.get(url)
        assert r.status_code == 405
        r = await c.post(url, content=OTLP_BIN, headers=PROTO)
        assert r.status_code == 200
    await wait_trace(app, OTLP_TRACE_ID, 3)


async def test_http_invalid_ids_partial_success(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    good = b'{"traceId":"0000000000000000000000000000abcd","spanId":"00000000000000ef","name":"j"}'
    bad = good.replace(b'"0000000000000000000000000000abcd"', b'"00000000000000000000000000000000"')
    one_of_two = OTLP_JSON.replace(b'"spans":[', b'"spans":[' + bad + b",")
    async with httpx.AsyncClient() as c:
        r = await c.post(http_url(app), content=one_of_two, headers={"content-type": "application/json"})
        assert r.status_code == 200
        assert r.json()["partialSuccess"]["rejectedSpans"] in ("1", 1)
        # Nothing left to store: the request as a whole is refused, with the reason.
        all_bad = OTLP_JSON.replace(
            b'"0000000000000000000000000000abcd"', b'"00000000000000000000000000000000"'
        )
        r = await c.post(http_url(app), content=all_bad, headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert "1 span(s) rejected; first:" in r.text and "traceId is all zero" in r.text


async def test_grpc_export_stored(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await grpc_export(app)(OTLP_BIN)
    trace = await wait_trace(app, OTLP_TRACE_ID, 3)
    assert trace.spans[0].process.service_name == "demo-otlp-grpc"


async def test_grpc_bad_input_then_good(make_app: Callable[..., Any]) -> None:
    app = await make_app(grpc_max_message_size=64 * 1024)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await grpc_export(app)(GARBAGE)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await grpc_export(app)(b"\x0a" + b"\x80\x80\x04" + b"\0" * 65536)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await grpc_export(app)(OTLP_BIN)
    await wait_trace(app, OTLP_TRACE_ID, 3)


async def test_full_queue_is_retryable(make_app: Callable[..., Any]) -> None:
    app = await make_app(queue_size=1, num_workers=1)
    assert app.processor is not None
    # Park the only worker so the queue stays occupied.
    gate = asyncio.Event()
    inner = app.storage.writer.write_spans

    async def slow(spans: Any) -> None:
        await gate.wait()
        await inner(spans)

    app.storage.writer.write_spans = slow  # type: ignore[method-assign]
    async with httpx.AsyncClient() as c:
        assert (
            await c.post(http_url(app), content=OTLP_JSON, headers={"content-type": "application/json"})
        ).status_code == 200
        r = await c.post(http_url(app), content=OTLP_BIN, headers=PROTO)
        assert r.status_code == 503
        assert r.headers["retry-after"]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await grpc_export(app)(OTLP_BIN)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    gate.set()
    await wait_trace(app, 0xABCD)
