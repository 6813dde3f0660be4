"""Checks against docker/docker-compose.elasticsearch.yml (agent, collector, query, Elasticsearch,
demo), run by scripts/containers.sh.

Not collected by the normal test run (see conftest.py). The order matters: the demo is checked
first, then stopped, so that the agent's counters move only with what these tests send.
"""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

COLLECTOR_ADMIN = "http://127.0.0.1:14269"
QUERY_ADMIN = "http://127.0.0.1:16687"
AGENT_ADMIN = "http://127.0.0.1:14271"
CLIENT_SPANS = 3
REPORTER = {"format": "jaeger", "protocol": "grpc"}
UDP_COMPACT = {"model": "jaeger", "protocol": "compact"}


def test_all_healthy(kit: ModuleType) -> None:
    for admin in (COLLECTOR_ADMIN, QUERY_ADMIN, AGENT_ADMIN):
        status, body = kit.http_get(f"{admin}/")
        assert status == 200 and b"Server available" in body, admin
    status, body = kit.http_get("http://127.0.0.1:9200/_cluster/health")
    assert status == 200 and json.loads(body)["status"] in ("green", "yellow")


def test_elasticsearch_took_the_compose_settings(kit: ModuleType) -> None:
    """The env-style settings of the compose file reached the node (the official image's rules)."""
    nodes = kit.get_json("http://127.0.0.1:9200/_nodes/settings,jvm")["nodes"]
    (node,) = nodes.values()
    settings = node["settings"]
    assert settings["discovery"]["type"] == "single-node"
    assert settings["xpack"]["security"]["enabled"] == "false"
    assert node["jvm"]["mem"]["heap_max_in_bytes"] == 512 * 1024 * 1024


def test_every_container_healthy(kit: ModuleType, stack: Any) -> None:
    kit.wait_all_healthy(stack)


def test_demo_traces_reach_the_query_api(kit: ModuleType) -> None:
    kit.check_demo_traces()


def test_otel_sdk_to_collector(kit: ModuleType, stack: Any) -> None:
    service = kit.unique_service("es-otel")
    sent = stack.send_otel(service, "http")
    got = kit.complete_trace(sent["trace_id"], CLIENT_SPANS)
    assert {s["spanID"] for s in got["spans"]} == {d["span_id"] for d in sent["spans"].values()}
    m = kit.wait_for(
        "collector counts",
        lambda: (
            m
            if (m := kit.Metrics(f"{COLLECTOR_ADMIN}/metrics")).value(
                "jaeger_collector_spans_saved_by_svc_total", svc=service, result="ok"
            )
            >= CLIENT_SPANS
            else None
        ),
        timeout=30,
    )
    assert m.value("jaeger_collector_spans_received_total", svc=service, format="otlp") == CLIENT_SPANS
    assert m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="ok") == CLIENT_SPANS
    assert m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="err") == 0


def test_query_counts_its_requests(kit: ModuleType) -> None:
    labels = {"operation": "get_services", "result": "ok"}
    before = kit.Metrics(f"{QUERY_ADMIN}/metrics").value("jaeger_query_requests_total", **labels)
    for _ in range(4):
        kit.get_json(f"{kit.QUERY}/api/services")
    after = kit.Metrics(f"{QUERY_ADMIN}/metrics").value("jaeger_query_requests_total", **labels)
    assert after - before == 4


def _agent_idle(kit: ModuleType) -> Any:
    """The agent's metrics once its reporter queue is empty."""
    return kit.wait_for(
        "the agent's reporter queue to drain",
        lambda: (
            m
            if (m := kit.Metrics(f"{AGENT_ADMIN}/metrics")).value(
                "jaeger_agent_reporter_queue_length", **REPORTER
            )
            == 0
            else None
        ),
        timeout=60,
    )


def test_stop_demo(stack: Any, kit: ModuleType) -> None:
    """From here on only these tests send to the agent, so its counters can be compared exactly."""
    stack.compose("stop", "-t", "10", "demo")
    time.sleep(1)  # datagrams already in flight
    _agent_idle(kit)


def test_jaeger_client_through_agent_counts_exactly(kit: ModuleType, stack: Any) -> None:
    before = _agent_idle(kit)
    service = kit.unique_service("es-jaeger-client")
    sent = stack.send_jaeger_client(service)
    got = kit.complete_trace(sent["trace_id"], CLIENT_SPANS)
    assert {s["spanID"] for s in got["spans"]} == {d["span_id"] for d in sent["spans"].values()}
    assert {got["processes"][s["processID"]]["serviceName"] for s in got["spans"]} == {service}
    after = _agent_idle(kit)

    def delta(name: str, **labels: str) -> float:
        return float(after.value(name, **labels) - before.value(name, **labels))

    # jaeger_client_send.py reports its 3 spans in one datagram
    assert delta("jaeger_agent_thrift_udp_server_packets_processed_total", **UDP_COMPACT) == 1
    assert delta("jaeger_agent_thrift_udp_server_packets_dropped_total", **UDP_COMPACT) == 0
    assert delta("jaeger_agent_reporter_spans_submitted_total", **REPORTER) == CLIENT_SPANS
    assert delta("jaeger_agent_reporter_spans_failures_total", **REPORTER) == 0
    m = kit.Metrics(f"{COLLECTOR_ADMIN}/metrics")
    assert (
        m.value("jaeger_collector_spans_received_total", svc=service, format="proto", transport="grpc")
        == CLIENT_SPANS
    )
    assert m.value("jaeger_collector_spans_saved_by_svc_total", svc=service, result="ok") == CLIENT_SPANS


def test_collector_outage_loses_only_what_the_agent_counts_as_dropped(kit: ModuleType, stack: Any) -> None:
    before = _agent_idle(kit)
    service = kit.unique_service("es-outage")
    # 150 traces of 2 spans over about 15 s; the collector is down for about 6 s in the middle
    sender = stack.start_jaeger_stream(service, traces=150, interval=0.1)
    time.sleep(3)
    stack.compose("stop", "-t", "10", "collector")
    stopped_at = time.monotonic()
    time.sleep(6)
    stack.compose("start", "collector")
    stack.wait_healthy(f"{COLLECTOR_ADMIN}/")
    out, err = sender.communicate(timeout=120)
    assert sender.returncode == 0, f"jaeger_stream.py failed: {err}"
    report = json.loads(out.strip().splitlines()[-1])
    sent_spans = report["spans_sent"]
    after = _agent_idle(kit)

    def delta(name: str, **labels: str) -> int:
        return int(after.value(name, **labels) - before.value(name, **labels))

    # every way the agent can lose a span shows in one of these; each stream datagram holds 2 spans
    dropped_spans = delta("jaeger_agent_reporter_spans_failures_total", **REPORTER)
    dropped_datagrams = sum(
        delta(name, **UDP_COMPACT)
        for name in (
            "jaeger_agent_thrift_udp_server_packets_dropped_total",
            "jaeger_agent_thrift_udp_server_read_errors_total",
            "jaeger_agent_thrift_udp_t_processor_handler_errors_total",
            "jaeger_agent_thrift_udp_server_kernel_drops",
        )
    )
    expected = sent_spans - dropped_spans - 2 * dropped_datagrams
    submitted = delta("jaeger_agent_reporter_spans_submitted_total", **REPORTER)
    failures = delta("jaeger_agent_reporter_batches_failures_total", **REPORTER)
    print(
        f"outage: {time.monotonic() - stopped_at:.1f} s; sent {sent_spans} spans; agent dropped"
        f" {dropped_spans} spans + {dropped_datagrams} datagrams; submitted {submitted};"
        f" failed send attempts {failures}"
    )
    assert failures > 0, "the collector outage never showed at the agent: the test proved nothing"
    assert submitted >= expected
    found = kit.wait_for(
        f"{expected} spans of {service} via the query API",
        lambda: ids if len(ids := kit.service_span_ids(service)) >= expected else None,
        timeout=60,
    )
    assert len(found) == expected, f"sent {sent_spans}, expected {expected}, found {len(found)}"
    assert dropped_spans == 0 and dropped_datagrams == 0, "a 6 s outage should fit in the agent's queue"
