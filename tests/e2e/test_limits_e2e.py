"""Bounds a flood cannot push through, on a running server: connections, names, disk."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.model import KeyValue, Process, Span, ValueType

OTLP = {"content-type": "application/x-protobuf"}
IDLE = 1500


def open_idle(port: int, n: int) -> list[socket.socket]:
    """`n` connections that send nothing; each is accepted by the kernel at once."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        socks.append(s)
    return socks


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


def served(server: Any) -> None:
    """A new client is answered on the query and the OTLP ports (a fresh connection each)."""
    with httpx.Client(timeout=10.0, trust_env=False) as fresh:
        assert fresh.get(server.query_url + "/api/services").status_code == 200
        spans = [Span(0xAB, 1, "op", [], 1, int(time.time() * 1e6), 5, [], [], Process("fresh", []))]
        r = fresh.post(
            server.otlp_http_url + "/v1/traces", content=encode_export_request(spans), headers=OTLP
        )
        assert r.status_code == 200


@pytest.mark.parametrize(
    "hard",
    ["high", "1024"],
    ids=["soft-limit-raised", "hard-limit-too"],
)
def test_idle_connections_do_not_lock_out_new_clients(
    tmp_path: Path, pyjaeger_launcher: Any, hard: str
) -> None:
    """1,500 idle connections under a soft limit of 1,024 open files. With a higher hard limit
    the server raises its own soft limit (as Go does) and holds them all; when the hard limit is
    1,024 as well, it closes the longest-idle connections to make room. New clients are served
    either way. The request-head timeout is long here so that it frees nothing."""
    limit = (1024, resource_hard()) if hard == "high" else (1024, 1024)
    args = {
        "--query.http-server.read-header-timeout": "60s",
        "--collector.otlp.http.read-header-timeout": "60s",
    }
    with pyjaeger_launcher("idle", tmp_path, args, nofile=limit) as server:
        idle = open_idle(server.ports["query_http"], IDLE)
        try:
            time.sleep(0.5)  # let the server accept what it will
            served(server)
            assert server.http.get(server.admin_url + "/metrics").status_code == 200
        finally:
            close_all(idle)
        if hard == "high":
            assert "open_file_limit=" in server.log() and "open_file_limit=1024 " not in server.log()
        else:
            assert "closed the longest-idle connection" in server.log()


def resource_hard() -> int:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def test_request_head_timeout_closes_silent_connections(tmp_path: Path, pyjaeger_launcher: Any) -> None:
    args = {"--query.http-server.read-header-timeout": "300ms", "--query.http-server.max-connections": "4"}
    with pyjaeger_launcher("head", tmp_path, args) as server:
        silent = open_idle(server.ports["query_http"], 3)
        try:
            started = time.monotonic()
            for s in silent:
                s.settimeout(5.0)
                assert s.recv(1) == b""  # closed by the server
            assert time.monotonic() - started < 3.0
            # Four allowed: a fifth connection closes the longest-idle one, and is served.
            more = open_idle(server.ports["query_http"], 4)
            try:
                served(server)
            finally:
                close_all(more)
        finally:
            close_all(silent)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_names(server: Any, first: int, count: int, per_request: int = 500) -> None:
    """`count` traces of one span, each of its own service and operation."""
    now = int(time.time() * 1e6)
    with httpx.Client(timeout=30.0, trust_env=False) as http:
        for lo in range(first, first + count, per_request):
            spans = [
                Span(n + 1, 1, f"op-{n}", [], 1, now, 5, [KeyValue("k", ValueType.STRING, "v")], [],
                     Process(f"flood-service-{n}", []))
                for n in range(lo, min(lo + per_request, first + count))
            ]  # fmt: skip
            r = http.post(
                server.otlp_http_url + "/v1/traces", content=encode_export_request(spans), headers=OTLP
            )
            assert r.status_code == 200, r.text


def test_a_flood_of_service_names_stays_bounded(tmp_path: Path, pyjaeger_launcher: Any) -> None:
    """50,000 distinct service names under --memory.max-traces 1000: /api/services lists what
    the stored traces hold, and memory stops growing with the names."""
    args = {"--memory.max-traces": "1000", "--collector.queue-size": "100000"}
    with pyjaeger_launcher("names", tmp_path, args) as server:
        send_names(server, 0, 10_000)
        server.wait_metric("jaeger_collector_spans_saved_by_svc_total", 10_000, timeout=60)
        warm = rss_kib(server.proc.pid)
        send_names(server, 10_000, 40_000)
        server.wait_metric("jaeger_collector_spans_saved_by_svc_total", 50_000, timeout=120)
        grown = rss_kib(server.proc.pid) - warm
        services = server.query("/api/services").json()["data"]
        assert len(services) <= 1000
        assert all(int(name.rsplit("-", 1)[1]) >= 49_000 for name in services)  # the newest only
        # 40,000 more names after the warm-up: bounded memory grows by no more than noise.
        assert grown < 20 * 1024, f"RSS grew by {grown} KiB over 40,000 new names"  # 50 MB unbounded
        # Metric labels are capped too: at most 4,000 services, then "other-services".
        svcs = {
            labels.get("svc")
            for labels, _ in server.metrics().labelled("jaeger_collector_spans_received_total")
        }
        assert len(svcs) <= 4001 and "other-services" in svcs


def footprint(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def test_sqlite_max_size_bounds_file_and_wal_under_sustained_ingest(
    tmp_path: Path, pyjaeger_launcher: Any, wait_for_trace: Callable[..., Any]
) -> None:
    limit = 12_000_000
    db = tmp_path / "traces.db"
    args = {"--span-storage.type": "sqlite", "--sqlite.path": str(db), "--sqlite.max-size": str(limit)}
    with pyjaeger_launcher("disk", tmp_path, args) as server:
        stop = time.monotonic() + 25.0
        sent = [0] * 4
        biggest = [0]
        errors: list[BaseException] = []

        def ingest(i: int) -> None:
            now = int(time.time() * 1e6)
            tags = [KeyValue(f"tag.{k}", ValueType.STRING, f"value-{k}-" + "x" * 40) for k in range(8)]
            trace = (i + 1) << 40
            try:
                with httpx.Client(timeout=30.0, trust_env=False) as http:
                    while time.monotonic() < stop:
                        trace += 1
                        spans = [Span(trace, s + 1, f"op-{s % 7}", [], 1, now + s, 50, tags, [],
                                      Process(f"svc-{i}", [])) for s in range(200)]  # fmt: skip
                        body = encode_export_request(spans)
                        r = http.post(server.otlp_http_url + "/v1/traces", content=body, headers=OTLP)
                        if r.status_code == 200:
                            sent[i] += len(spans)
                        else:
                            assert r.status_code == 503, r.text  # a full queue: the client retries
                            time.sleep(0.05)
            except BaseException as e:
                errors.append(e)

        def watch() -> None:
            while time.monotonic() < stop + 3:
                biggest[0] = max(biggest[0], footprint(db))
                time.sleep(0.05)

        threads = [threading.Thread(target=ingest, args=(i,)) for i in range(4)] + [
            threading.Thread(target=watch)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        spans = sum(sent)
        # The store was pushed well past its bound (each span takes about 200 bytes stored)...
        assert spans * 200 > 3 * limit, f"only {spans} spans sent"
        # ...and file + WAL stayed within 10% of it the whole time.
        assert biggest[0] <= limit * 1.1, f"file + WAL reached {biggest[0]} bytes for a {limit}-byte limit"
        assert os.path.getsize(db) > limit / 2  # it did fill up, not stay empty
        last = f"{(4 << 40) + 1:032x}"
        assert server.query(f"/api/traces/{last}").status_code in (200, 404)
