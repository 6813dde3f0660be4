from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from pyjaeger.collector.intake import QueueFullError
from pyjaeger.collector.processor import SpanProcessor
from pyjaeger.metrics import CollectorMetrics
from pyjaeger.model import Span
from pyjaeger.storage.base import SpanWriter, StorageError


class GatedWriter(SpanWriter):
    """Holds every write until the gate opens, so the queue can be filled on purpose."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.written: list[Span] = []
        self.fail = False

    async def write_spans(self, spans: Sequence[Span]) -> None:
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("disk on fire")
        self.written.extend(spans)


class OutageWriter(SpanWriter):
    """A storage that is away (a transient StorageError) until `down` is cleared."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.written: list[Span] = []

    async def write_spans(self, spans: Sequence[Span]) -> None:
        self.attempts += 1
        if self.down:
            raise StorageError("connection refused", transient=True)
        self.written.extend(spans)


FAST_RETRY = (0.01, 0.05)


def metric(reg: CollectorRegistry, name: str, **labels: str) -> float:
    value = reg.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_full_queue_refuses_and_counts(span: Callable[..., Any]) -> None:
    reg = CollectorRegistry()
    m = CollectorMetrics(reg)
    w = GatedWriter()
    p = SpanProcessor(w, m, queue_size=10, num_workers=2)
    await p.start()
    p.submit([span(1, i) for i in range(1, 7)], "otlp", "http")
    p.submit([span(2, i) for i in range(1, 5)], "otlp", "http")
    assert p.queue_length == 10
    with pytest.raises(QueueFullError):
        p.submit([span(3, 1)], "otlp", "grpc")
    assert metric(reg, "jaeger_collector_spans_dropped_total", host=m.host) == 1
    assert metric(reg, "jaeger_collector_queue_length", host=m.host) == 10
    w.gate.set()
    await p.stop()
    assert sorted((s.trace_id, s.span_id) for s in w.written) == sorted(
        [(1, i) for i in range(1, 7)] + [(2, i) for i in range(1, 5)]
    )
    assert p.queue_length == 0
    received = metric(
        reg,
        "jaeger_collector_spans_received_total",
        debug="false",
        format="otlp",
        svc="svc",
        transport="http",
    )
    assert received == 10
    assert (
        metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="ok", svc="svc") == 10
    )


async def test_oversize_batch_enters_an_empty_queue(span: Callable[..., Any]) -> None:
    w = GatedWriter()
    w.gate.set()
    p = SpanProcessor(w, CollectorMetrics(CollectorRegistry()), queue_size=2, num_workers=1)
    await p.start()
    p.submit([span(1, i) for i in range(1, 6)], "otlp", "http")
    await p.stop()
    assert len(w.written) == 5


async def test_stop_drains_then_refuses(span: Callable[..., Any]) -> None:
    w = GatedWriter()
    p = SpanProcessor(w, CollectorMetrics(CollectorRegistry()), queue_size=100, num_workers=3)
    await p.start()
    for t in range(1, 20):
        p.submit([span(t, 1), span(t, 2)], "otlp", "grpc")
    stopping = asyncio.create_task(p.stop())
    await asyncio.sleep(0.01)
    with pytest.raises(QueueFullError):
        p.submit([span(99, 1)], "otlp", "grpc")
    w.gate.set()
    await stopping
    assert len(w.written) == 38


async def test_storage_error_is_counted_not_raised(span: Callable[..., Any]) -> None:
    reg = CollectorRegistry()
    w = GatedWriter()
    w.fail = True
    w.gate.set()
    p = SpanProcessor(w, CollectorMetrics(reg), queue_size=100, num_workers=1)
    await p.start()
    p.submit([span(1, 1, service="a")], "otlp", "grpc")
    await p.stop()
    assert metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="a") == 1
    assert p.queue_length == 0


async def test_empty_service_name_is_sanitized(span: Callable[..., Any]) -> None:
    w = GatedWriter()
    w.gate.set()
    p = SpanProcessor(w, CollectorMetrics(CollectorRegistry()), queue_size=100, num_workers=1)
    await p.start()
    p.submit([span(1, 1, service="")], "otlp", "http")
    await p.stop()
    assert w.written[0].process.service_name == "empty-service-name"


async def test_stop_before_start_and_twice() -> None:
    p = SpanProcessor(GatedWriter(), CollectorMetrics(CollectorRegistry()))
    await p.stop()
    await p.start()
    await p.stop()
    await p.stop()


async def test_permanent_storage_error_is_counted_and_dropped(span: Callable[..., Any]) -> None:
    class Refusing(SpanWriter):
        attempts = 0

        async def write_spans(self, spans: Sequence[Span]) -> None:
            self.attempts += 1
            raise StorageError("mapper_parsing_exception")

    reg = CollectorRegistry()
    w = Refusing()
    p = SpanProcessor(w, CollectorMetrics(reg), queue_size=100, num_workers=1, retry_backoff=FAST_RETRY)
    await p.start()
    p.submit([span(1, 1, service="a"), span(1, 2, service="a")], "otlp", "grpc")
    await p.stop()
    # The batch, then each span alone: the refusal may concern one span only.
    assert w.attempts == 3
    assert metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="a") == 2
    assert p.queue_length == 0


class Poisoned(SpanWriter):
    """Refuses every write holding a span of service "poison", all or nothing, as sqlite does;
    or, with `names_failed`, stores the rest and says which it did not, as Elasticsearch does."""

    def __init__(self, names_failed: bool = False) -> None:
        self.names_failed = names_failed
        self.written: list[Span] = []
        self.attempts = 0

    async def write_spans(self, spans: Sequence[Span]) -> None:
        self.attempts += 1
        bad = [i for i, s in enumerate(spans) if s.process.service_name == "poison"]
        if bad and not self.names_failed:
            raise ValueError("cannot encode")
        self.written += [s for i, s in enumerate(spans) if i not in bad]
        if bad:
            raise StorageError("mapper_parsing_exception", failed=bad)


@pytest.mark.parametrize("names_failed", [False, True], ids=["all-or-nothing", "names-failed"])
async def test_one_bad_span_costs_only_itself(span: Callable[..., Any], names_failed: bool) -> None:
    """Batches of several requests merged into one write: a span storage refuses loses only
    itself, and the counts say exactly what was stored."""
    reg = CollectorRegistry()
    w = Poisoned(names_failed)
    p = SpanProcessor(w, CollectorMetrics(reg), queue_size=1000, num_workers=1)
    requests = [[span(t, i, service="good") for i in range(1, 6)] for t in range(1, 9)]
    requests.insert(
        3, [span(99, 1, service="good"), span(99, 2, service="poison"), span(99, 3, service="good")]
    )
    for batch in requests:  # queued before the worker starts: one merged write
        p.submit(batch, "otlp", "grpc")
    await p.start()
    await p.stop()
    stored = {(s.trace_id, s.span_id) for s in w.written}
    assert len(stored) == 42 and (99, 2) not in stored and len(w.written) == 42  # nothing twice
    ok = metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="ok", svc="good")
    err = metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="poison")
    assert (ok, err) == (42, 1)
    assert (
        metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="good") == 0
    )
    # merged write, then each request (9), then the bad one halved: [1] and [2, 3], [2] and [3]
    assert w.attempts == (1 if names_failed else 14)


async def test_transient_storage_error_keeps_the_batch_until_written(span: Callable[..., Any]) -> None:
    reg = CollectorRegistry()
    m = CollectorMetrics(reg)
    w = OutageWriter()
    p = SpanProcessor(w, m, queue_size=4, num_workers=2, retry_backoff=FAST_RETRY)
    await p.start()
    p.submit([span(1, 1), span(1, 2)], "otlp", "http")
    p.submit([span(2, 1), span(2, 2)], "otlp", "http")
    while w.attempts < 6:  # both batches failed and were retried at least once
        await asyncio.sleep(0.01)
    # The held batches keep their room: the queue stays full and refuses more.
    assert p.queue_length == 4
    with pytest.raises(QueueFullError):
        p.check_room("otlp", "http")
    with pytest.raises(QueueFullError):
        p.submit([span(3, 1)], "otlp", "http")
    w.down = False
    await p.stop()
    assert sorted((s.trace_id, s.span_id) for s in w.written) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert (
        metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="ok", svc="svc") == 4
    )
    assert (
        metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="svc") == 0
    )
    assert metric(reg, "jaeger_collector_spans_dropped_total", host=m.host) == 1  # only the refused span


async def test_stop_counts_what_storage_never_took(
    span: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    reg = CollectorRegistry()
    m = CollectorMetrics(reg)
    w = OutageWriter()
    # One worker holds the first batch; the second waits in the queue behind it.
    p = SpanProcessor(w, m, queue_size=100, num_workers=1, retry_backoff=FAST_RETRY)
    await p.start()
    p.submit([span(1, i) for i in range(1, 4)], "otlp", "http")
    while w.attempts < 1:
        await asyncio.sleep(0.01)
    p.submit([span(2, i) for i in range(1, 3)], "otlp", "http")
    with caplog.at_level(logging.ERROR, logger="pyjaeger.collector.processor"):
        await p.stop(timeout=0.2)
    assert w.written == []
    assert metric(reg, "jaeger_collector_spans_dropped_total", host=m.host) == 5
    assert (
        metric(reg, "jaeger_collector_spans_saved_by_svc_total", debug="false", result="err", svc="svc") == 0
    )
    assert p.queue_length == 0
    assert metric(reg, "jaeger_collector_queue_length", host=m.host) == 0
    assert "5 spans not written to storage" in caplog.text


async def test_restart_after_a_stop_that_dropped(span: Callable[..., Any]) -> None:
    w = OutageWriter()
    p = SpanProcessor(
        w, CollectorMetrics(CollectorRegistry()), queue_size=10, num_workers=1, retry_backoff=FAST_RETRY
    )
    await p.start()
    p.submit([span(1, 1)], "otlp", "http")
    await p.stop(timeout=0.05)
    w.down = False
    await p.start()
    p.submit([span(2, 1)], "otlp", "http")
    await p.stop()
    assert [(s.trace_id, s.span_id) for s in w.written] == [(2, 1)]
