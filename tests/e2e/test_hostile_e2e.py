"""Hostile input through the real server: one bad request must hurt no one else.

Each input the issue names (a lone surrogate, times and durations past int64, nesting deeper
than any parser goes) is sent to a running all-in-one, on memory and on sqlite, between requests
of well-behaved clients. After each, /metrics and /api/services answer 200 and every span the
other clients had acknowledged is readable.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from pyjaeger.codecs.api_v2 import encode_post_spans
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.idl.zipkin import zipkin_pb2
from pyjaeger.model import KeyValue, Process, Span, ValueType

NOW_US = int(time.time() * 1e6)
ZIPKIN_JSON = {"content-type": "application/json"}
OTLP = {"content-type": "application/x-protobuf"}


def good_spans(trace_id: int, service: str, n: int = 3) -> list[Span]:
    process = Process(service, [KeyValue("host", ValueType.STRING, "h1")])
    return [
        Span(trace_id, i + 1, f"op-{i}", [], 1, NOW_US - 1000 * i, 500, [], [], process) for i in range(n)
    ]


def zipkin_v2(trace: str, span: str, **fields: Any) -> dict[str, Any]:
    return {"traceId": trace, "id": span, "name": "z", "timestamp": NOW_US, "duration": 10,
            "localEndpoint": {"serviceName": "zipkin-good"}, **fields}  # fmt: skip


def zipkin_v1(trace: str, span: str, service: str, **fields: Any) -> dict[str, Any]:
    endpoint = {"serviceName": service, "ipv4": "10.0.0.1"}
    annotations = [
        {"timestamp": NOW_US, "value": "sr", "endpoint": endpoint},
        {"timestamp": NOW_US + 10, "value": "ss", "endpoint": endpoint},
    ]
    return {"traceId": trace, "id": span, "name": "v1", "timestamp": NOW_US, "duration": 10,
            "annotations": annotations, **fields}  # fmt: skip


class Clients:
    """Well-behaved clients: each acknowledged trace is remembered, to be read back later."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = httpx.Client(timeout=10.0, trust_env=False)
        self.acknowledged: dict[str, int] = {}  # trace id hex → spans
        self._next = 0x5000

    def send(self) -> None:
        self._next += 1
        spans = good_spans(self._next, "good-client")
        r = self.http.post(
            self.server.otlp_http_url + "/v1/traces", content=encode_export_request(spans), headers=OTLP
        )
        assert r.status_code == 200, r.text
        self.acknowledged[f"{self._next:032x}"] = len(spans)

    def close(self) -> None:
        self.http.close()

    def check_everyone(self, wait_for_trace: Callable[..., Any]) -> None:
        s = self.server
        assert s.http.get(s.admin_url + "/metrics").status_code == 200
        assert s.query("/api/services").status_code == 200
        for trace_hex, n in self.acknowledged.items():
            wait_for_trace(s, trace_hex, n)


@pytest.fixture(params=["memory", "sqlite"])
def server(request: pytest.FixtureRequest, tmp_path: Path, pyjaeger_launcher: Any) -> Iterator[Any]:
    args = {"--span-storage.type": request.param, "--sqlite.path": str(tmp_path / "traces.db")}
    with pyjaeger_launcher("hostile", tmp_path, args) as s:
        yield s


def post_zipkin(
    server: Any, path: str, body: bytes, content_type: str = "application/json"
) -> httpx.Response:
    url = f"http://127.0.0.1:{server.ports['zipkin']}{path}"
    return server.http.post(url, content=body, headers={"content-type": content_type})


def post_spans(server: Any, payload: bytes) -> tuple[grpc.StatusCode, str]:
    with grpc.insecure_channel(server.collector_grpc_endpoint) as channel:
        call = channel.unary_unary("/jaeger.api_v2.CollectorService/PostSpans")
        try:
            call(payload, timeout=5.0)
        except grpc.RpcError as e:
            return e.code(), e.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.fixture
def clients(server: Any) -> Iterator[Callable[[], Clients]]:
    made: list[Clients] = []

    def make() -> Clients:
        made.append(Clients(server))
        return made[-1]

    yield make
    for c in made:
        c.close()


def test_each_hostile_input_hurts_no_one(
    server: Any, clients: Callable[[], Clients], wait_for_trace: Callable[..., Any]
) -> None:
    good = clients()
    good.send()

    # 1. A lone surrogate: escaped, and as raw CESU-8 bytes. Stored as U+FFFD, as Go does.
    escaped = json.dumps([zipkin_v1("a1", "a1", "\udc00bad")]).encode()
    assert b"\\udc00" in escaped
    assert post_zipkin(server, "/api/v1/spans", escaped).status_code == 202
    raw = json.dumps([zipkin_v1("a2", "a2", "SURR")]).encode().replace(b"SURR", b"\xed\xa0\x80raw")
    assert post_zipkin(server, "/api/v1/spans", raw).status_code == 202
    good.send()
    good.check_everyone(wait_for_trace)
    services = server.query("/api/services").json()["data"]
    assert "\ufffdbad" in services and "\ufffd\ufffd\ufffdraw" in services
    assert "\ufffdbad" in server.metrics().text  # labelled and exposed

    # 2. Times and durations past int64, beside a good span: the good one is stored.
    mixed = [zipkin_v2("b1", "b1"), zipkin_v2("b1", "b2", timestamp=1e30)]
    assert post_zipkin(server, "/api/v2/spans", json.dumps(mixed).encode()).status_code == 202
    wait_for_trace(server, "00000000000000b1", 1)
    for bad in (
        json.dumps([zipkin_v2("b3", "b3", duration=18446744073709551616)]).encode(),
        json.dumps([zipkin_v2("b4", "b4", timestamp=1e30)]).encode(),
    ):
        r = post_zipkin(server, "/api/v2/spans", bad)
        assert r.status_code == 400 and "span(s) rejected" in r.text, r.text
    r = post_zipkin(
        server, "/api/v1/spans", json.dumps([zipkin_v1("b5", "b5", "v1", timestamp=2**63)]).encode()
    )
    assert r.status_code == 400 and "outside" in r.text, r.text
    proto = zipkin_pb2.ListOfSpans()
    span = proto.spans.add(trace_id=bytes(8) + b"\x00" * 7 + b"\xb6", id=b"\x00" * 7 + b"\xb6", name="p")
    span.timestamp = (1 << 64) - 1
    r = post_zipkin(server, "/api/v2/spans", proto.SerializeToString(), "application/x-protobuf")
    assert r.status_code == 400, r.text
    far = good_spans(0xB7, "api-v2")
    far[0].start_time = (1 << 62) * 1_000_000
    code, details = post_spans(server, encode_post_spans(far[:1]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "rejected" in details, details
    assert post_spans(server, encode_post_spans(far)) == (grpc.StatusCode.OK, "")  # two of three kept
    wait_for_trace(server, f"{0xB7:016x}", 2)
    good.send()
    good.check_everyone(wait_for_trace)

    # 3. Nesting deeper than any parser goes: a short 400, no traceback.
    deep = b"[" * 100_000 + b"]" * 100_000
    r = post_zipkin(server, "/api/v1/spans", deep)
    assert r.status_code == 400 and len(r.content) < 1000 and "Traceback" not in r.text, r.text[:300]
    r = server.query("/api/traces", service="good-client", tags='{"a":' * 3000 + '"b"' + "}" * 3000)
    assert r.status_code == 400 and len(r.content) < 1000, r.text[:300]
    good.send()
    good.check_everyone(wait_for_trace)

    # Every refusal is counted.
    rejected = server.metrics().value("jaeger_collector_spans_rejected_total")
    assert rejected >= 6
    assert "Traceback" not in server.log()


def test_poison_requests_among_busy_clients(
    server: Any, clients: Callable[[], Clients], wait_for_trace: Callable[..., Any]
) -> None:
    """Well-behaved clients and a poison request every 0.1 s, at once for 3 s: every span the
    clients had acknowledged is stored and readable."""
    stop = time.monotonic() + 3.0
    busy = [clients() for _ in range(4)]
    for i, c in enumerate(busy):
        c._next = 0x10000 * (i + 1)
    errors: list[BaseException] = []

    def run(c: Clients) -> None:
        try:
            while time.monotonic() < stop:
                c.send()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in busy]
    for t in threads:
        t.start()
    poisons = 0
    while time.monotonic() < stop:
        body = json.dumps([zipkin_v2(f"{poisons + 0xC00:x}", "c1", timestamp=1e30)]).encode()
        assert post_zipkin(server, "/api/v2/spans", body).status_code == 400
        bad = json.dumps([zipkin_v1(f"{poisons + 0xD00:x}", "d1", "\udc00x")]).encode()
        assert post_zipkin(server, "/api/v1/spans", bad).status_code == 202
        poisons += 1
        time.sleep(0.1)
    for t in threads:
        t.join()
    assert not errors, errors
    total = sum(len(c.acknowledged) for c in busy)
    assert total > 20 and poisons > 10
    for c in busy:
        c.check_everyone(wait_for_trace)
