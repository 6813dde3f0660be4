"""Ingest worker processes (`pyjaeger.cmd.ingest_pool`) in an App of the test's own process: real
worker processes, real sockets; what a dead worker held, datagrams handed to workers, one
`/metrics` for every process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram

from pyjaeger.cmd.app import App
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.merged_metrics import MergedCollector, local_samples
from pyjaeger.model import Process, Span

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
COMPACT = (CAPTURES / "py-jaeger-client-4.8.0_udp6831_compact.bin").read_bytes()
PROTOBUF = {"content-type": "application/x-protobuf"}


def sample(app: App, name: str, **labels: str) -> float:
    total = 0.0
    for family in app.registry.collect():
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                total += s.value
    return total


async def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def port_of(app: App, name: str) -> int:
    return int(app.listeners()[name].rsplit(":", 1)[1])


def request(trace_id: int, n: int = 5) -> bytes:
    process = Process("pool-svc", [])
    spans = [
        Span(trace_id, i + 1, f"op-{i}", [], 1, 1_700_000_000_000_000 + i, 10, [], [], process)
        for i in range(n)
    ]
    return encode_export_request(spans)


async def test_a_dead_worker_is_replaced_and_what_it_held_counted_as_dropped(
    make_app: Callable[..., Any],
) -> None:
    app = await make_app(ingest_processes=2)
    pool = app.pool
    before = pool.worker_pids()
    assert len(before) == 2
    # The worker counts spans as sent before they go over the link: 7 counted and never read
    # here are what a worker killed between the two would have lost.
    pool._workers[0].sent.value += 7
    os.kill(before[0], signal.SIGKILL)

    async def replaced() -> bool:
        pids = pool.worker_pids()
        return len(pids) == 2 and pids[0] != before[0] and pool._workers[0].ready.done()

    await wait_until(replaced)
    assert pool.worker_pids()[1] == before[1]
    assert sample(app, "jaeger_collector_spans_dropped_total") == 7
    # Both workers serve the shared port again: every request of fresh connections is taken.
    port = port_of(app, "OTLP HTTP receiver")
    for i in range(8):
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"http://127.0.0.1:{port}/v1/traces", content=request(100 + i), headers=PROTOBUF
            )
            assert r.status_code == 200, r.text
    assert app.storage is not None

    async def stored() -> bool:
        return all([await app.storage.reader.get_trace(100 + i) is not None for i in range(8)])

    await wait_until(stored)


async def test_one_metrics_page_for_every_process(make_app: Callable[..., Any]) -> None:
    """The workers' HTTP request durations add into the owner's histogram, and stay in it after
    the worker that observed them is gone."""
    app = await make_app(ingest_processes=2)
    port = port_of(app, "OTLP HTTP receiver")
    for i in range(6):
        async with httpx.AsyncClient() as client:  # a connection each: spread over the workers
            r = await client.post(
                f"http://127.0.0.1:{port}/v1/traces", content=request(200 + i), headers=PROTOBUF
            )
            assert r.status_code == 200
    route = {"component": "collector", "http_route": "/v1/traces", "http_response_status_code": "200"}

    async def counted() -> bool:
        return sample(app, "http_server_request_duration_seconds_count", **route) == 6

    await wait_until(counted)
    assert sample(app, "jaeger_collector_spans_received_total", format="otlp", transport="http") == 30
    os.kill(app.pool.worker_pids()[0], signal.SIGKILL)
    await asyncio.sleep(0.5)
    assert sample(app, "http_server_request_duration_seconds_count", **route) == 6
    assert sample(app, "jaeger_collector_spans_dropped_total") == 0  # it held nothing


async def test_datagrams_are_decoded_in_the_workers(make_app: Callable[..., Any]) -> None:
    app = await make_app(ingest_processes=2)
    port = app.server("agent UDP server (compact)").port
    spans = decode_agent_message(COMPACT)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(COMPACT, ("127.0.0.1", port))
        s.sendto(b"\x82\x21\x01\x09emitBatch\xff\xff", ("127.0.0.1", port))  # truncated
    assert app.storage is not None

    async def stored() -> bool:
        t = await app.storage.reader.get_trace(spans[0].trace_id)
        return t is not None and len(t.spans) == len(spans)

    await wait_until(stored)
    labels = {"model": "jaeger", "protocol": "compact"}

    async def counted() -> bool:
        return sample(app, "jaeger_agent_thrift_udp_t_processor_handler_errors_total", **labels) == 1

    await wait_until(counted)
    assert sample(app, "jaeger_agent_thrift_udp_server_packets_processed_total", **labels) == 1
    assert sample(app, "jaeger_collector_spans_received_total", transport="udp") == len(spans)


async def test_the_queue_bound_holds_over_every_process(make_app: Callable[..., Any]) -> None:
    """With the store's writer parked, requests over fresh connections (spread over both workers)
    are taken until the one queue holds its configured size, then refused with 503 and gRPC
    RESOURCE_EXHAUSTED; every refusal is counted, every span answered 200 is stored once the
    writer moves again, and no refused span is."""
    app = await make_app(ingest_processes=2, queue_size=20, num_workers=1)
    assert app.storage is not None and app.processor is not None
    writer = app.storage.writer
    gate = asyncio.Event()
    parked: list[int] = []
    inner = writer.write_stored

    async def slow(batch: Any) -> None:
        parked.append(len(batch.records))
        await gate.wait()
        await inner(batch)

    writer.write_stored = slow
    port = port_of(app, "OTLP HTTP receiver")
    taken: list[int] = []
    refused: list[int] = []
    for i in range(12):
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"http://127.0.0.1:{port}/v1/traces", content=request(300 + i, 10), headers=PROTOBUF
            )
        assert r.status_code in (200, 503), r.text
        (taken if r.status_code == 200 else refused).append(300 + i)
        if r.status_code == 503:
            assert r.headers["retry-after"]
        await asyncio.sleep(0.05)  # the writer takes what it can; workers hear the queue's state
    assert refused, "the queue never refused"
    assert app.processor.queue_length <= 20
    # The queue counts spans until they are written: what was answered 200 is all in it.
    assert parked and 10 * len(taken) == app.processor.queue_length
    grpc_port = port_of(app, "OTLP gRPC receiver")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await export(request(399, 10))
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    async def counted() -> bool:
        undecoded = sample(app, "jaeger_collector_requests_refused_total")
        decoded = sample(app, "jaeger_collector_spans_dropped_total") / 10
        return undecoded + decoded == len(refused) + 1

    await wait_until(counted)
    gate.set()

    async def stored() -> bool:
        return all([await app.storage.reader.get_trace(t) is not None for t in taken])

    await wait_until(stored)
    for t in [*refused, 399]:
        assert await app.storage.reader.get_trace(t) is None
    # Spans refused after decoding were received, then dropped (as in Jaeger).
    received = sample(app, "jaeger_collector_spans_received_total", format="otlp")
    assert received == 10 * len(taken) + sample(app, "jaeger_collector_spans_dropped_total")


def test_merged_collector_adds_other_processes_and_keeps_the_departed() -> None:
    local = CollectorRegistry()
    h = Histogram("d", "durations", ["route"], buckets=(1.0,), registry=local)
    h.labels("/a").observe(0.5)
    remote = CollectorRegistry()
    r = Histogram("d", "durations", ["route"], buckets=(1.0,), registry=remote)
    r.labels("/a").observe(2.0)
    r.labels("/b").observe(0.1)
    merged = MergedCollector([h])
    merged.update(1, local_samples(remote))
    merged.update(2, local_samples(remote))

    def value(name: str, **labels: str) -> float:
        out = CollectorRegistry()
        out.register(merged)
        return out.get_sample_value(name, labels) or 0.0

    assert value("d_count", route="/a") == 3
    assert value("d_bucket", route="/a", le="1.0") == 1
    assert value("d_count", route="/b") == 2
    merged.retire(1)
    merged.update(2, [])  # restarted counters of a new process under the same source
    assert value("d_count", route="/a") == 2
    assert value("d_sum", route="/b") == 0.1
