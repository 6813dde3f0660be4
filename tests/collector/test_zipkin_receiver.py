"""The Zipkin receiver over real loopback sockets: all four encodings stored, bad input refused clearly."""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.cmd.app import App
from pyjaeger.collector.zipkin_http import cors_origins
from pyjaeger.hostport import HostPort
from pyjaeger.idl.gen_thrift.zipkincore import ttypes as zc

LOOPBACK = HostPort("127.0.0.1", 0)
START = 1_700_000_000_000_000  # microseconds

JSON = {"content-type": "application/json"}
PROTO = {"content-type": "application/x-protobuf"}
THRIFT = {"content-type": "application/x-thrift"}


def v2_json(trace_id: int, service: str = "v2-json-svc") -> bytes:
    return json.dumps(
        [
            {
                "traceId": f"{trace_id:016x}",
                "id": "00000000000000a1",
                "name": "get /v2",
                "kind": "SERVER",
                "timestamp": START,
                "duration": 1500,
                "localEndpoint": {"serviceName": service},
                "tags": {"http.method": "GET"},
            }
        ]
    ).encode()


def v1_json(trace_id: int) -> bytes:
    ep = {"serviceName": "v1-json-svc", "ipv4": "10.0.0.1", "port": 8080}
    return json.dumps(
        [
            {
                "traceId": f"{trace_id:016x}",
                "id": "00000000000000b1",
                "name": "get /v1",
                "timestamp": START,
                "duration": 2000,
                "annotations": [
                    {"timestamp": START, "value": "sr", "endpoint": ep},
                    {"timestamp": START + 2000, "value": "ss", "endpoint": ep},
                ],
                "binaryAnnotations": [],
            }
        ]
    ).encode()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    # wire 2 (length-delimited) carries its length; 0 (varint) and 1 (fixed64) are already encoded
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def v2_proto(trace_id: int) -> bytes:
    """zipkin.proto3 ListOfSpans with one span, encoded by hand (no generated module needed)."""
    endpoint = _field(1, 2, b"v2-proto-svc")
    span = b"".join(
        (
            _field(1, 2, trace_id.to_bytes(8, "big")),
            _field(3, 2, (0xC1).to_bytes(8, "big")),
            _field(4, 0, _varint(2)),  # Kind.SERVER
            _field(5, 2, b"get /proto"),
            _field(6, 1, struct.pack("<Q", START)),
            _field(7, 0, _varint(3000)),
            _field(8, 2, endpoint),
        )
    )
    return _field(1, 2, span)


def v1_thrift(trace_id: int) -> bytes:
    """A zipkincore list<Span> in TBinaryProtocol, as zipkin v1 thrift senders post it."""
    host = zc.Endpoint(ipv4=0x0A000001, port=8080, service_name="v1-thrift-svc")
    span = zc.Span(
        trace_id=trace_id,
        name="get /thrift",
        id=0xD1,
        annotations=[
            zc.Annotation(timestamp=START, value="sr", host=host),
            zc.Annotation(timestamp=START + 4000, value="ss", host=host),
        ],
        binary_annotations=[],
        timestamp=START,
        duration=4000,
    )
    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf)
    proto.writeListBegin(TType.STRUCT, 1)
    span.write(proto)
    proto.writeListEnd()
    return bytes(buf.getvalue())


def url(app: App, path: str = "/api/v2/spans") -> str:
    return f"http://127.0.0.1:{app.server('zipkin HTTP receiver').port}{path}"  # type: ignore[attr-defined]


async def wait_trace(app: App, trace_id: int) -> Any:
    assert app.storage is not None
    for _ in range(200):
        t = await app.storage.reader.get_trace(trace_id)
        if t is not None and t.spans:
            return t
        await asyncio.sleep(0.01)
    raise AssertionError(f"trace {trace_id:x} not stored")


@pytest.fixture
async def zipkin_app(make_app: Callable[..., Any]) -> App:
    app: App = await make_app(zipkin_host_port=LOOPBACK, http_max_request_size=64 * 1024)
    return app


@pytest.mark.parametrize(
    ("path", "headers", "payload", "service", "operation"),
    [
        ("/api/v2/spans", JSON, v2_json, "v2-json-svc", "get /v2"),
        ("/api/v2/spans", PROTO, v2_proto, "v2-proto-svc", "get /proto"),
        ("/api/v1/spans", JSON, v1_json, "v1-json-svc", "get /v1"),
        ("/api/v1/spans", THRIFT, v1_thrift, "v1-thrift-svc", "get /thrift"),
    ],
    ids=["v2-json", "v2-proto", "v1-json", "v1-thrift"],
)
async def test_each_encoding_is_accepted_and_stored(
    zipkin_app: App,
    path: str,
    headers: dict[str, str],
    payload: Callable[[int], bytes],
    service: str,
    operation: str,
) -> None:
    trace_id = 0x5A1
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app, path), content=payload(trace_id), headers=headers)
    assert r.status_code == 202, r.text
    assert r.content == b""
    trace = await wait_trace(zipkin_app, trace_id)
    (span,) = trace.spans
    assert (span.process.service_name, span.operation_name) == (service, operation)
    assert span.start_time == START


async def test_missing_content_type_is_json_and_charset_is_ignored(zipkin_app: App) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app), content=v2_json(0x77), headers={"content-type": ""})
        assert r.status_code == 202, r.text
        r = await c.post(
            url(zipkin_app, "/api/v1/spans"),
            content=v1_json(0x78),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert r.status_code == 202, r.text
    await wait_trace(zipkin_app, 0x77)
    await wait_trace(zipkin_app, 0x78)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body(zipkin_app: App, encoding: str) -> None:
    body = gzip.compress(v2_json(0x6A)) if encoding == "gzip" else zlib.compress(v2_json(0x6A))
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app), content=body, headers={**JSON, "content-encoding": encoding})
    assert r.status_code == 202, r.text
    await wait_trace(zipkin_app, 0x6A)


async def test_bad_input_is_400_and_the_server_keeps_serving(zipkin_app: App) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app), content=b"[{not json", headers=JSON)
        assert r.status_code == 400
        assert r.text.startswith("Unable to process request body: ") and len(r.text) > 40
        for path, headers in (("/api/v2/spans", PROTO), ("/api/v1/spans", THRIFT)):
            r = await c.post(url(zipkin_app, path), content=b"\xff\xfe\xfd\xfc\xfb\xfa", headers=headers)
            assert r.status_code == 400, (path, r.text)
            assert r.text.startswith("Unable to process request body: ")
        r = await c.post(
            url(zipkin_app), content=b"\x1f\x8bnot gzip", headers={**JSON, "content-encoding": "gzip"}
        )
        assert r.status_code == 400
        r = await c.get(url(zipkin_app))
        assert r.status_code == 405
        r = await c.post(url(zipkin_app), content=v2_json(0x99), headers=JSON)
        assert r.status_code == 202
    await wait_trace(zipkin_app, 0x99)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v2/spans", "text/plain"),
        ("/api/v2/spans", "application/x-thrift"),  # thrift is v1 only
        ("/api/v1/spans", "application/x-protobuf"),  # proto3 is v2 only
    ],
)
async def test_unsupported_content_type_is_400(zipkin_app: App, path: str, content_type: str) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app, path), content=b"[]", headers={"content-type": content_type})
    assert r.status_code == 400
    assert r.text.startswith(f"Unsupported Content-Type: {content_type}")
    assert "application/json" in r.text  # names what would be accepted


async def test_oversized_bodies_are_413(zipkin_app: App) -> None:
    limit = 64 * 1024
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app), content=b" " * (limit + 1), headers=JSON)
        assert r.status_code == 413

        async def chunks() -> Any:
            for _ in range(100):
                yield b" " * 1024

        r = await c.post(url(zipkin_app), content=chunks(), headers=JSON)
        assert r.status_code == 413
        # Small on the wire, 10 MiB once inflated: refused without inflating it all.
        bomb = gzip.compress(b" " * (10 * 1024 * 1024))
        assert len(bomb) < limit
        r = await c.post(url(zipkin_app), content=bomb, headers={**JSON, "content-encoding": "gzip"})
        assert r.status_code == 413
        r = await c.post(url(zipkin_app), content=v2_json(0x413), headers=JSON)
        assert r.status_code == 202


async def test_cors(make_app: Callable[..., Any]) -> None:
    app = await make_app(
        zipkin_host_port=LOOPBACK,
        zipkin_allowed_origins=("http://ui.example.com", "https://*.example.org"),
        zipkin_allowed_headers=("content-type", "x-b3-traceid"),
    )
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    async with httpx.AsyncClient() as c:
        for origin in ("http://ui.example.com", "https://app.example.org"):
            r = await c.options(url(app), headers={**preflight, "origin": origin})
            assert r.status_code == 200, origin
            assert r.headers["access-control-allow-origin"] == origin
            assert "POST" in r.headers["access-control-allow-methods"]
        r = await c.options(url(app), headers={**preflight, "origin": "http://evil.example.net"})
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        r = await c.options(
            url(app),
            headers={
                **preflight,
                "origin": "http://ui.example.com",
                "access-control-request-headers": "x-other",
            },
        )
        assert r.status_code == 400
        r = await c.post(url(app), content=v2_json(0xC0), headers={**JSON, "origin": "http://ui.example.com"})
        assert r.status_code == 202
        assert r.headers["access-control-allow-origin"] == "http://ui.example.com"


async def test_cors_default_allows_any_origin(zipkin_app: App) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.options(
            url(zipkin_app),
            headers={
                "origin": "http://anywhere.test",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "http://anywhere.test")


def test_cors_origin_patterns() -> None:
    assert cors_origins(["*"]) == (["*"], None)
    exact, regex = cors_origins(["http://a.test", "https://*.b.test"])
    assert exact == ["http://a.test"]
    assert regex is not None
    import re

    assert re.fullmatch(regex, "https://x.b.test")
    assert not re.fullmatch(regex, "https://x.b.test.evil/")
    assert not re.fullmatch(regex, "http://x.b.test")


async def test_keep_alive_off_closes_connections(make_app: Callable[..., Any]) -> None:
    app = await make_app(zipkin_host_port=LOOPBACK, zipkin_keep_alive=False)
    async with httpx.AsyncClient() as c:
        r = await c.post(url(app), content=v2_json(0xA11), headers=JSON)
    assert r.status_code == 202
    assert r.headers["connection"] == "close"


async def test_metrics_are_labelled_zipkin_http(zipkin_app: App) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(url(zipkin_app), content=v2_json(0x3E7, service="metered"), headers=JSON)
    assert r.status_code == 202
    await wait_trace(zipkin_app, 0x3E7)
    got = zipkin_app.registry.get_sample_value(
        "jaeger_collector_spans_received_total",
        {"debug": "false", "format": "zipkin", "svc": "metered", "transport": "http"},
    )
    assert got == 1
    requests = zipkin_app.registry.get_sample_value(
        "http_server_request_duration_seconds_count",
        {
            "component": "collector",
            "http_request_method": "POST",
            "http_route": "/api/v2/spans",
            "http_response_status_code": "202",
        },
    )
    assert requests == 1


async def test_full_queue_is_503_retryable(make_app: Callable[..., Any]) -> None:
    app = await make_app(zipkin_host_port=LOOPBACK, queue_size=1, num_workers=1)
    assert app.storage is not None
    gate = asyncio.Event()
    inner = app.storage.writer.write_spans

    async def parked(spans: Any) -> None:
        await gate.wait()
        await inner(spans)

    app.storage.writer.write_spans = parked  # type: ignore[method-assign]
    async with httpx.AsyncClient() as c:
        assert (await c.post(url(app), content=v2_json(0xF1), headers=JSON)).status_code == 202
        r = await c.post(url(app), content=v2_json(0xF2), headers=JSON)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.text.startswith("Cannot submit Zipkin batch: ")
    refused = app.registry.get_sample_value(
        "jaeger_collector_requests_refused_total", {"format": "zipkin", "transport": "http"}
    )
    assert refused == 1
    gate.set()
    await wait_trace(app, 0xF1)


async def test_off_unless_configured(make_app: Callable[..., Any]) -> None:
    app = await make_app()  # loopback_config leaves the Zipkin host-port empty, as Jaeger's collector does
    with pytest.raises(KeyError):
        app.server("zipkin HTTP receiver")
