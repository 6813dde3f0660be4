"""Elasticsearch going away: start-up waits for it, and no acknowledged span is lost while it is down.

Real nodes only. The outage test stops and restarts a private node (the session's node is shared
with other tests); starting and restarting a node takes most of its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from elastic_transport import HttpxAsyncHttpNode
from elasticsearch import AsyncElasticsearch
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from prometheus_client import CollectorRegistry

from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config
from pyjaeger.storage.base import StorageError
from pyjaeger.storage.config import StorageConfig
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

SPANS_PER_BATCH = 20
QUEUE_SIZE = 200  # spans: ten batches
PROTOBUF = {"content-type": "application/x-protobuf"}


def export_request(trace_id: int, service: str = "outage-svc") -> bytes:
    """One OTLP export request: a trace of SPANS_PER_BATCH spans, starting now."""
    now = time.time_ns()
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(
        common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service))
    )
    ss = rs.scope_spans.add()
    for i in range(1, SPANS_PER_BATCH + 1):
        span = ss.spans.add()
        span.trace_id = trace_id.to_bytes(16, "big")
        span.span_id = i.to_bytes(8, "big")
        if i > 1:
            span.parent_span_id = (1).to_bytes(8, "big")
        span.name = f"op-{i % 3}"
        span.kind = trace_pb2.Span.SPAN_KIND_SERVER
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 1_000_000
    return req.SerializeToString()


@dataclass
class Sender:
    """POSTs one trace per request, remembering which were acknowledged and which refused."""

    url: str
    acked: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(uuid.uuid4().int >> 64 << 32))

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                trace_id = next(self._ids)
                r = await client.post(self.url, content=export_request(trace_id), headers=PROTOBUF)
                self.statuses.add(r.status_code)
                (self.acked if r.is_success else self.refused).append(trace_id)
                await asyncio.sleep(0.02)


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def total(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sum of a metric over every series whose labels include `labels`."""
    found = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                found += sample.value
    return found


async def stored_span_ids(url: str, prefix: str) -> dict[int, set[int]]:
    """Distinct span ids stored per trace id, read straight from the span indices."""
    async with AsyncElasticsearch(url, node_class=HttpxAsyncHttpNode) as client:
        index = f"{prefix}-jaeger-span-*"
        await client.indices.refresh(index=index)
        resp = await client.search(
            index=index,
            size=0,
            aggs={
                "t": {
                    "terms": {"field": "traceID", "size": 10_000},
                    "aggs": {"s": {"terms": {"field": "spanID", "size": 1000}}},
                }
            },
        )
    return {
        int(b["key"], 16): {int(s["key"], 16) for s in b["s"]["buckets"]}
        for b in resp["aggregations"]["t"]["buckets"]
    }


@pytest.mark.parametrize("ingest_processes", [1, 3], ids=["in-process", "3-ingest-processes"])
async def test_no_acknowledged_span_is_lost_while_elasticsearch_is_down(
    private_elasticsearch: Any, loopback_config: Callable[..., Config], ingest_processes: int
) -> None:
    """The queue is bounded over every process: with ingest worker processes, three senders (three
    connections, spread over the workers) meet the same refusals and the same exact counts."""
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
    es = ElasticsearchConfig(
        server_urls=(private_elasticsearch.url,),
        index_prefix=prefix,
        num_shards=1,
        num_replicas=0,
        max_retries=1,
    )
    config = replace(
        loopback_config(queue_size=QUEUE_SIZE, num_workers=2, ingest_processes=ingest_processes),
        storage=StorageConfig(span_storage_type="elasticsearch", elasticsearch=es),
    )
    app = App("all-in-one", config)
    await app.start()
    assert app.processor is not None
    processor = app.processor
    port = int(app.listeners()["OTLP HTTP receiver"].rsplit(":", 1)[1])
    senders = [Sender(f"http://127.0.0.1:{port}/v1/traces") for _ in range(3)]
    stop_sending = asyncio.Event()
    sending = [asyncio.create_task(sender.run(stop_sending)) for sender in senders]

    def acked() -> list[int]:
        return [t for sender in senders for t in sender.acked]

    def refused() -> list[int]:
        return [t for sender in senders for t in sender.refused]

    try:
        await wait_until(lambda: len(acked()) >= 20, 20, "batches acknowledged before the outage")
        await asyncio.to_thread(private_elasticsearch.stop)
        refused_before = len(refused())
        await wait_until(lambda: len(refused()) > refused_before, 20, "back-pressure during the outage")
        assert QUEUE_SIZE - SPANS_PER_BATCH <= processor.queue_length <= QUEUE_SIZE
        acked_during_outage = len(acked())
        await asyncio.to_thread(private_elasticsearch.restart)
        await wait_until(
            lambda: len(acked()) >= acked_during_outage + 20, 30, "batches acknowledged after the outage"
        )
        stop_sending.set()
        await asyncio.gather(*sending)
        await wait_until(lambda: processor.queue_length == 0, 30, "the queue to drain")
    finally:
        stop_sending.set()
        await asyncio.gather(*sending, return_exceptions=True)
        await app.stop()

    assert set().union(*(sender.statuses for sender in senders)) <= {200, 503}
    assert refused(), "the outage never made the collector refuse a batch"
    stored = await stored_span_ids(private_elasticsearch.url, prefix)
    everything = set(range(1, SPANS_PER_BATCH + 1))
    # Every acknowledged trace is there whole; a refused one left nothing behind.
    assert {t for t in acked() if stored.get(t) != everything} == set()
    assert set(stored) == set(acked())

    reg = app.registry
    acked_spans = len(acked()) * SPANS_PER_BATCH
    refused_spans = len(refused()) * SPANS_PER_BATCH
    received = total(reg, "jaeger_collector_spans_received_total", format="otlp", transport="http")
    dropped = total(reg, "jaeger_collector_spans_dropped_total")
    saved_ok = total(reg, "jaeger_collector_spans_saved_by_svc_total", result="ok")
    saved_err = total(reg, "jaeger_collector_spans_saved_by_svc_total", result="err")
    assert saved_ok == acked_spans
    assert saved_err == 0
    refused_requests = total(reg, "jaeger_collector_requests_refused_total", format="otlp", transport="http")
    # Each refused request was either refused undecoded (the queue already full: counted as a
    # request) or decoded, counted as received and then dropped (no room for all its spans).
    assert received - dropped == acked_spans
    assert dropped % SPANS_PER_BATCH == 0
    assert refused_requests * SPANS_PER_BATCH + dropped == refused_spans


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Collector:
    """`pyjaeger collector` as a child process; its stderr collected line by line."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)


@contextlib.asynccontextmanager
async def collector(*flags: str) -> AsyncIterator[Collector]:
    env = {**os.environ, "SPAN_STORAGE_TYPE": "elasticsearch"}
    listeners = (
        "collector.http-server.host-port",
        "collector.grpc-server.host-port",
        "collector.otlp.grpc.host-port",
        "collector.otlp.http.host-port",
        "admin.http.host-port",
    )
    given = {f.split("=", 1)[0].lstrip("-") for f in flags}
    args = [f"--{name}=127.0.0.1:0" for name in listeners if name not in given]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyjaeger",
        "collector",
        *args,
        *flags,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    c = Collector(proc)
    c.reader = asyncio.create_task(c._read())
    try:
        yield c
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await c.reader


async def test_collector_exits_when_elasticsearch_never_comes() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    began = time.monotonic()
    async with collector(f"--es.server-urls={url}", "--es.start-timeout=3s") as c:
        code = await asyncio.wait_for(c.proc.wait(), 15)
        assert c.reader is not None
        await c.reader
    assert code == 1, c.stderr
    assert time.monotonic() - began < 12, c.stderr
    retries = [line for line in c.lines if "WARNING" in line and "not reachable (attempt" in line]
    assert len(retries) >= 2 and all(url in line for line in retries), c.stderr
    assert f"elasticsearch at {url} unreachable after 3." in c.stderr


async def test_start_timeout_zero_is_one_attempt(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    config = ElasticsearchConfig(server_urls=(url,), start_timeout=0)
    with pytest.raises(
        StorageError, match=rf"elasticsearch at {url} unreachable after 0\.\ds: .*ConnectionRefused"
    ):
        await ElasticsearchStore.open(config)
    assert "not reachable (attempt" not in caplog.text


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def forwarder(port: int, target_port: int) -> AsyncIterator[None]:
    """Elasticsearch appearing on `port`: every connection there is relayed to a real node."""
    pipes: set[asyncio.Future[Any]] = set()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        both = asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        pipes.add(both)
        await both

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()


async def test_collector_waits_for_elasticsearch_to_come_up(elasticsearch: Any) -> None:
    port, admin_port, otlp_port = _free_port(), _free_port(), _free_port()
    url = f"http://127.0.0.1:{port}"
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
    flags = (
        f"--es.server-urls={url}",
        "--es.start-timeout=60s",
        f"--es.index-prefix={prefix}",
        "--es.num-shards=1",
        "--es.num-replicas=0",
        f"--admin.http.host-port=127.0.0.1:{admin_port}",
        f"--collector.otlp.http.host-port=127.0.0.1:{otlp_port}",
    )
    try:
        async with collector(*flags) as c, httpx.AsyncClient(timeout=5) as http:
            await wait_until(lambda: "not reachable (attempt 2)" in c.stderr, 15, "two start-up attempts")
            health = await http.get(f"http://127.0.0.1:{admin_port}/")
            assert health.status_code == 503, health.text  # up, but not ready while storage is away
            async with forwarder(port, int(elasticsearch.port)):
                deadline = time.monotonic() + 30
                while (await http.get(f"http://127.0.0.1:{admin_port}/")).status_code != 200:
                    assert c.proc.returncode is None, c.stderr
                    assert time.monotonic() < deadline, c.stderr
                    await asyncio.sleep(0.1)
                trace_id = uuid.uuid4().int
                r = await http.post(
                    f"http://127.0.0.1:{otlp_port}/v1/traces",
                    content=export_request(trace_id),
                    headers=PROTOBUF,
                )
                assert r.status_code == 200, r.text
                # SIGTERM drains the queue into storage before the process exits.
                c.proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(c.proc.wait(), 20) == 0, c.stderr
        stored = await stored_span_ids(elasticsearch.url, prefix)
        assert stored == {trace_id: set(range(1, SPANS_PER_BATCH + 1))}
    finally:
        async with AsyncElasticsearch(elasticsearch.url, node_class=HttpxAsyncHttpNode) as client:
            indices = await client.options(ignore_status=404).indices.get(index=f"{prefix}-*")
            for name in indices:
                await client.indices.delete(index=name)
