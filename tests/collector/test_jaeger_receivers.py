"""Jaeger-native collector receivers over loopback: thrift HTTP on 14268, api_v2 gRPC on 14250."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import pytest

from pyjaeger.cmd.app import App
from pyjaeger.codecs.jaeger_thrift import decode_batch
from pyjaeger.collector.grpc_api_v2 import COLLECTOR_SERVICE

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
THRIFT_BATCH = (CAPTURES / "otel-jaeger-thrift-collector_http14268_binary-batch.bin").read_bytes()
POST_SPANS = (CAPTURES / "otel-jaeger-proto-grpc_PostSpansRequest.bin").read_bytes()
THRIFT = {"content-type": "application/x-thrift"}


async def wait_trace(app: App, trace_id: int, n: int) -> Any:
    assert app.storage is not None
    for _ in range(300):
        t = await app.storage.reader.get_trace(trace_id)
        if t is not None and len(t.spans) >= n:
            return t
        await asyncio.sleep(0.01)
    raise AssertionError(f"trace {trace_id:x} not stored")


def port(app: App, name: str) -> int:
    return int(app.server(name).port)  # type: ignore[attr-defined]


async def test_thrift_http_stored_then_bad_input(make_app: Callable[..., Any]) -> None:
    app = await make_app(http_max_request_size=64 * 1024)
    url = f"http://127.0.0.1:{port(app, 'collector HTTP server')}/api/traces"
    expected = decode_batch(THRIFT_BATCH)
    async with httpx.AsyncClient() as c:
        for bad_body, headers, status, text in [
            (b"\x00\x01garbage", THRIFT, 400, "Unable to process request body"),
            (THRIFT_BATCH[: len(THRIFT_BATCH) // 2], THRIFT, 400, "Unable to process request body"),
            (
                THRIFT_BATCH,
                {"content-type": "application/json"},
                400,
                "Unsupported content type: application/json",
            ),
            (b"x" * (64 * 1024 + 1), THRIFT, 413, "limit"),
        ]:
            r = await c.post(url, content=bad_body, headers=headers)
            assert r.status_code == status, r.text
            assert text in r.text
        r = await c.post(
            url + "?format=jaeger.thrift",
            content=THRIFT_BATCH,
            headers={"content-type": "application/vnd.apache.thrift.binary; charset=binary"},
        )
        assert r.status_code == 202 and r.content == b""
    trace = await wait_trace(app, expected[0].trace_id, len(expected))
    assert {s.operation_name for s in trace.spans} == {s.operation_name for s in expected}


async def test_grpc_post_spans_stored_then_bad_input(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    from pyjaeger.codecs.api_v2 import decode_post_spans

    expected = decode_post_spans(POST_SPANS)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port(app, 'collector gRPC server')}") as ch:
        call = ch.unary_unary(f"/{COLLECTOR_SERVICE}/PostSpans")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(b"\xff\xff\xff\xff", timeout=5)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert await call(POST_SPANS, timeout=5) == b""
    trace = await wait_trace(app, expected[0].trace_id, len(expected))
    assert trace.spans[0].process.service_name == expected[0].process.service_name


async def test_sampling_endpoints_default_strategy(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    async with httpx.AsyncClient() as c:
        base = f"http://127.0.0.1:{port(app, 'collector HTTP server')}"
        r = await c.get(base + "/api/sampling", params={"service": "x"})
        assert r.status_code == 200
        assert orjson.loads(r.content) == {
            "strategyType": "PROBABILISTIC",
            "probabilisticSampling": {"samplingRate": 0.001},
        }
        r = await c.get(base + "/api/sampling")
        assert r.status_code == 400 and "'service' parameter must be provided once" in r.text
    from pyjaeger.codecs.api_v2_sampling import decode_sampling_response, encode_sampling_request

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port(app, 'collector gRPC server')}") as ch:
        call = ch.unary_unary("/jaeger.api_v2.SamplingManager/GetSamplingStrategy")
        reply = await call(encode_sampling_request("x"), timeout=5)
    assert decode_sampling_response(reply)["probabilisticSampling"] == {"samplingRate": 0.001}
