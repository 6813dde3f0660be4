"""Checks against docker/docker-compose.yml (all-in-one on sqlite + demo), run by scripts/containers.sh.

Not collected by the normal test run (see conftest.py); the order of the tests matters: the last
one restarts the all-in-one.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

ADMIN = "http://127.0.0.1:14269"
# Spans each client script sends (tests/clients/jaeger_client_send.py, otel_send.py).
CLIENT_SPANS = 3
sent_traces: dict[str, str] = {}


def test_healthy(kit: ModuleType) -> None:
    status, body = kit.http_get(f"{ADMIN}/")
    assert status == 200 and b"Server available" in body


def test_every_container_healthy(kit: ModuleType, stack: Any) -> None:
    kit.wait_all_healthy(stack)


def test_demo_traces_reach_the_query_api(kit: ModuleType) -> None:
    kit.check_demo_traces()


def _assert_collector_counts(kit: ModuleType, service: str, n: int) -> None:
    def counted() -> Any:
        m = kit.Metrics(f"{ADMIN}/metrics")
        saved = m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="ok")
        return m if saved >= n else None

    m = kit.wait_for(f"{n} spans of {service} saved", counted, timeout=30)
    assert m.value("jaeger_collector_spans_received_total", svc=service) == n
    assert m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="ok") == n
    assert m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="err") == 0
    assert m.value("jaeger_collector_spans_rejected_total", svc=service) == 0


def _assert_same_spans(got: dict[str, Any], sent: dict[str, Any], service: str) -> None:
    assert {s["operationName"] for s in got["spans"]} == set(sent["spans"])
    assert {s["spanID"] for s in got["spans"]} == {d["span_id"] for d in sent["spans"].values()}
    assert set(got["processes"][s["processID"]]["serviceName"] for s in got["spans"]) == {service}
    by_name = {s["operationName"]: s for s in got["spans"]}
    for name, described in sent["spans"].items():
        parents = [r["spanID"] for r in by_name[name]["references"] if r["refType"] == "CHILD_OF"]
        assert parents == ([described["parent_span_id"]] if described["parent_span_id"] else [])


def test_jaeger_client_via_agent_udp(kit: ModuleType, stack: Any) -> None:
    service = kit.unique_service("aio-jaeger-client")
    sent = stack.send_jaeger_client(service)
    got = kit.complete_trace(sent["trace_id"], CLIENT_SPANS)
    _assert_same_spans(got, sent, service)
    assert got["traceID"] == sent["trace_id"]
    _assert_collector_counts(kit, service, CLIENT_SPANS)
    m = kit.Metrics(f"{ADMIN}/metrics")
    assert m.value("jaeger_collector_spans_received_total", svc=service, format="jaeger") == CLIENT_SPANS
    sent_traces["jaeger"] = sent["trace_id"]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_otel_sdk_via_otlp(kit: ModuleType, stack: Any, protocol: str) -> None:
    service = kit.unique_service(f"aio-otel-{protocol}")
    sent = stack.send_otel(service, protocol)
    got = kit.complete_trace(sent["trace_id"], CLIENT_SPANS)
    _assert_same_spans(got, sent, service)
    _assert_collector_counts(kit, service, CLIENT_SPANS)
    m = kit.Metrics(f"{ADMIN}/metrics")
    assert (
        m.value("jaeger_collector_spans_received_total", svc=service, format="otlp", transport=protocol)
        == CLIENT_SPANS
    )
    sent_traces[f"otel-{protocol}"] = sent["trace_id"]


def test_query_metrics_count_requests(kit: ModuleType) -> None:
    trace_id = sent_traces["otel-http"]
    labels = {"operation": "get_trace", "result": "ok"}
    before = kit.Metrics(f"{ADMIN}/metrics").value("jaeger_query_requests_total", **labels)
    for _ in range(3):
        assert kit.trace(trace_id) is not None
    after = kit.Metrics(f"{ADMIN}/metrics").value("jaeger_query_requests_total", **labels)
    assert after - before == 3


def _assert_sent_traces_kept(kit: ModuleType) -> None:
    for trace_id in sent_traces.values():
        t = kit.trace(trace_id)
        assert t is not None and len(t["spans"]) == CLIENT_SPANS, f"trace {trace_id} lost"


def test_restart_keeps_sqlite_traces(kit: ModuleType, stack: Any) -> None:
    assert len(sent_traces) == 3, "needs the traces the earlier tests sent"
    stack.compose("restart", "all-in-one")
    restarted_us = time.time_ns() // 1000
    stack.wait_healthy(f"{ADMIN}/")
    _assert_sent_traces_kept(kit)
    # the store still takes writes, and the demo's services (driver through the agent) reconnected
    service = kit.unique_service("aio-after-restart")
    sent = stack.send_otel(service, "http")
    kit.complete_trace(sent["trace_id"], CLIENT_SPANS)
    kit.check_demo_traces(since_us=restarted_us, timeout=60)


def test_recreated_container_keeps_sqlite_traces(kit: ModuleType, stack: Any) -> None:
    """Only the named volume survives a new container: `restart` alone would keep its file system."""
    stack.compose("up", "-d", "--no-deps", "--force-recreate", "all-in-one")
    stack.wait_healthy(f"{ADMIN}/")
    _assert_sent_traces_kept(kit)
