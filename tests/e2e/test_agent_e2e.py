"""A separate ``pyjaeger agent`` in front of collectors, end to end.

Jaeger v1's split deployment: clients send UDP to an agent next to them, the agent forwards over
gRPC ``PostSpans`` (or, with ``--reporter.type http``, thrift over HTTP) to collectors and serves
sampling strategies it fetches from them (``SamplingManager``) on 5778. ``pyjaeger collector``
has no query API, so an all-in-one plays the collector here: it has 14250, 14268 and the query
port the traces are read back from.

Covered: forwarding from both UDP ports, sampling through the agent, two collectors used
round-robin, a collector outage (spans buffered, delivered to the collector restarted on the same
ports), an outage longer than ``--reporter.queue-size`` (the overflow counted exactly, newest
dropped), and the HTTP reporter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

PROCESSED = "jaeger_agent_thrift_udp_server_packets_processed_total"
BATCHES_SUBMITTED = "jaeger_agent_reporter_batches_submitted_total"
SPANS_SUBMITTED = "jaeger_agent_reporter_spans_submitted_total"
SPANS_FAILURES = "jaeger_agent_reporter_spans_failures_total"
RECEIVED = "jaeger_collector_spans_received_total"
STRATEGIES = {
    "service_strategies": [{"service": "svc-a", "type": "probabilistic", "param": 0.75}],
    "default_strategy": {"type": "ratelimiting", "param": 5},
}
DELIVERY_TIMEOUT_S = 30.0  # a restarted collector must be found again through backoff


def agent_args(*collectors: Any) -> dict[str, str]:
    return {"--reporter.grpc.host-port": ",".join(c.collector_grpc_endpoint for c in collectors)}


def py_client(
    run_client: Callable[..., dict[str, Any]], python: Any, agent: Any, service: str
) -> dict[str, Any]:
    host, port = agent.udp_address("agent_compact")
    return run_client(python, "jaeger_client_send.py", "--agent", f"{host}:{port}", "--service", service)


def trace_count(server: Any, trace_id: str) -> int:
    """Spans of the trace the server has now (0 when unknown)."""
    resp = server.query(f"/api/traces/{trace_id}")
    if resp.status_code != 200:
        return 0
    data = resp.json()["data"]
    return len(data[0]["spans"]) if data else 0


@pytest.fixture(scope="module")
def collector(pyjaeger_launcher: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("agent-collector")
    path = tmp / "strategies.json"
    path.write_text(json.dumps(STRATEGIES))
    with pyjaeger_launcher("collector", tmp, {"--sampling.strategies-file": str(path)}) as server:
        yield server


@pytest.fixture(scope="module")
def agent(pyjaeger_launcher: Any, collector: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("agent")
    with pyjaeger_launcher("agent", tmp, agent_args(collector), command="agent") as server:
        yield server


# -- forwarding ---------------------------------------------------------------------------------


def test_jaeger_client_through_agent(
    agent: Any,
    collector: Any,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    before = agent.metrics()
    out = py_client(run_client, jaeger_python, agent, "e2e-agent-py")
    trace = wait_for_trace(collector, out["trace_id"], 3)
    assert sorted(s["operationName"] for s in trace["spans"]) == sorted(out["spans"])
    process = next(iter(trace["processes"].values()))
    assert process["serviceName"] == "e2e-agent-py"
    assert {kv["key"] for kv in process["tags"]} >= {"jaeger.version", "hostname", "ip"}
    # the collector got them from the agent over gRPC
    assert collector.metrics().value(RECEIVED, svc="e2e-agent-py", format="proto", transport="grpc") == 3
    after = agent.wait_metric(SPANS_SUBMITTED, before.value(SPANS_SUBMITTED) + 3)
    assert after.value(PROCESSED) == before.value(PROCESSED) + 1
    assert after.value(PROCESSED, protocol="compact") == before.value(PROCESSED, protocol="compact") + 1
    assert after.value(SPANS_SUBMITTED, format="jaeger", protocol="grpc") == after.value(SPANS_SUBMITTED)
    assert after.value(BATCHES_SUBMITTED) >= before.value(BATCHES_SUBMITTED) + 1
    assert after.value(SPANS_FAILURES) == 0


def test_node_client_through_agent(
    agent: Any,
    collector: Any,
    run_node_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    host, port = agent.udp_address("agent_binary")
    out = run_node_client("--host", host, "--port", str(port), "--service", "e2e-agent-node")
    trace = wait_for_trace(collector, out["trace_id"], 3)
    assert trace["traceID"] == out["trace_id"]
    assert collector.metrics().value(RECEIVED, svc="e2e-agent-node", format="proto", transport="grpc") == 3


def test_agent_health(agent: Any) -> None:
    resp = agent.http.get(agent.admin_url + "/")
    assert resp.status_code == 200 and resp.json()["status"] == "Server available"


# -- sampling through the agent --------------------------------------------------------------------


def test_sampling_comes_from_the_collector(agent: Any) -> None:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        a = client.get(agent.agent_http_url + "/sampling", params={"service": "svc-a"})
        assert a.status_code == 200, a.text
        assert a.text == '{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.75}}'
        other = client.get(agent.agent_http_url + "/sampling", params={"service": "other"})
        rate_limited = {"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 5}}
        assert other.json() == rate_limited
        legacy = client.get(agent.agent_http_url + "/", params={"service": "svc-a"})
        assert legacy.json() == {"strategyType": 0, "probabilisticSampling": {"samplingRate": 0.75}}
        bad = client.get(agent.agent_http_url + "/sampling")
        assert bad.status_code == 400
        assert bad.text.strip() == "'service' parameter must be provided once"


# -- a standalone `pyjaeger collector` ----------------------------------------------------------


def test_agent_with_standalone_collector(
    pyjaeger_launcher: Any,
    tmp_path: Path,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
) -> None:
    """``pyjaeger collector`` has no query API: what it received shows in its metrics."""
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps(STRATEGIES))
    extra = {"--sampling.strategies-file": str(path)}
    with (
        pyjaeger_launcher("standalone", tmp_path / "c", extra, command="collector") as collector,
        pyjaeger_launcher("agent-sa", tmp_path / "agent", agent_args(collector), command="agent") as agent,
    ):
        assert "query_http" not in collector.ports
        py_client(run_client, jaeger_python, agent, "e2e-standalone")
        collector.wait_metric(RECEIVED, 3, svc="e2e-standalone", format="proto", transport="grpc")
        agent.wait_metric(SPANS_SUBMITTED, 3)
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            resp = client.get(agent.agent_http_url + "/sampling", params={"service": "svc-a"})
            assert resp.json() == {
                "strategyType": "PROBABILISTIC",
                "probabilisticSampling": {"samplingRate": 0.75},
            }
            resp = client.get(collector.collector_http_url + "/api/sampling", params={"service": "svc-a"})
            assert resp.json() == {
                "strategyType": "PROBABILISTIC",
                "probabilisticSampling": {"samplingRate": 0.75},
            }


# -- two collectors ----------------------------------------------------------------------------


def test_round_robin_over_two_collectors(
    pyjaeger_launcher: Any,
    tmp_path: Path,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    with (
        pyjaeger_launcher("collector-1", tmp_path / "c1") as c1,
        pyjaeger_launcher("collector-2", tmp_path / "c2") as c2,
        pyjaeger_launcher("agent-rr", tmp_path / "agent", agent_args(c1, c2), command="agent") as agent,
    ):
        where: list[str] = []
        for i in range(4):
            # one at a time, so each UDP batch is forwarded as a batch of its own
            out = py_client(run_client, jaeger_python, agent, f"e2e-rr-{i}")
            deadline = time.monotonic() + 10.0
            while not (hits := [c.name for c in (c1, c2) if trace_count(c, out["trace_id"]) == 3]):
                assert time.monotonic() < deadline, f"trace {i} reached no collector"
                time.sleep(0.05)
            assert len(hits) == 1, f"trace {i} reached both collectors"
            where.append(hits[0])
        assert sorted(where) == ["collector-1", "collector-1", "collector-2", "collector-2"], where
        assert where[0] != where[1] and where[1] != where[2], f"not alternating: {where}"


# -- collector outage ------------------------------------------------------------------------------


def test_outage_buffers_and_delivers_after_restart(
    pyjaeger_launcher: Any,
    tmp_path: Path,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    with pyjaeger_launcher("collector-first", tmp_path / "c1") as first:
        ports = dict(first.ports)
        extra = agent_args(first)
        with pyjaeger_launcher("agent-outage", tmp_path / "agent", extra, command="agent") as agent:
            warm = py_client(run_client, jaeger_python, agent, "e2e-outage-warm")
            wait_for_trace(first, warm["trace_id"], 3)
            assert first.stop() == 0, first.log()

            sent = [py_client(run_client, jaeger_python, agent, f"e2e-outage-{i}") for i in range(3)]
            agent.wait_metric(PROCESSED, 4)
            time.sleep(1.0)  # the agent tries, fails and keeps them
            held = agent.metrics()
            assert held.value(SPANS_FAILURES) == 0, "spans within the queue size were dropped"
            assert held.value(SPANS_SUBMITTED) == 3  # only the warm-up trace went through
            assert held.value("jaeger_agent_reporter_batches_failures_total") >= 1

            with pyjaeger_launcher("collector-again", tmp_path / "c2", ports=ports) as again:
                for out in sent:
                    wait_for_trace(again, out["trace_id"], 3, timeout=DELIVERY_TIMEOUT_S)
                final = agent.wait_metric(SPANS_SUBMITTED, 12)
                assert final.value(SPANS_FAILURES) == 0
                assert again.metrics().value(RECEIVED, format="proto", transport="grpc") == 9


def test_outage_overflow_is_counted(
    pyjaeger_launcher: Any,
    tmp_path: Path,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    # A queue of 6 spans and four 3-span batches while the collector is down: the first two
    # batches fill it, the next two (6 spans) are dropped and counted. Spans held while a send
    # is retried count as queued.
    with pyjaeger_launcher("collector-gone", tmp_path / "c1") as gone:
        ports = dict(gone.ports)
        assert gone.stop() == 0, gone.log()
        extra = {**agent_args(gone), "--reporter.queue-size": "6"}
        with pyjaeger_launcher("agent-overflow", tmp_path / "agent", extra, command="agent") as agent:
            sent = []
            for i in range(4):
                sent.append(py_client(run_client, jaeger_python, agent, f"e2e-overflow-{i}"))
                agent.wait_metric(PROCESSED, i + 1)
            dropped = agent.wait_metric(SPANS_FAILURES, 6)
            assert dropped.value(SPANS_FAILURES, format="jaeger", protocol="grpc") == 6
            assert dropped.value(SPANS_SUBMITTED) == 0

            with pyjaeger_launcher("collector-back", tmp_path / "c2", ports=ports) as back:
                for out in sent[:2]:
                    wait_for_trace(back, out["trace_id"], 3, timeout=DELIVERY_TIMEOUT_S)
                final = agent.wait_metric(SPANS_SUBMITTED, 6)
                assert final.value(SPANS_FAILURES) == 6
                for out in sent[2:]:
                    assert trace_count(back, out["trace_id"]) == 0, "a dropped batch arrived"
                assert back.metrics().value(RECEIVED, format="proto", transport="grpc") == 6


# -- HTTP reporter ---------------------------------------------------------------------------------


def test_http_reporter(
    pyjaeger_launcher: Any,
    tmp_path: Path,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    with pyjaeger_launcher("collector-http", tmp_path / "c") as collector:
        extra = {
            "--reporter.type": "http",
            "--reporter.http.endpoint": f"{collector.collector_http_url}/api/traces",
            # the HTTP reporter sends no sampling requests anywhere; 5778 still needs a source
            "--reporter.grpc.host-port": collector.collector_grpc_endpoint,
        }
        with pyjaeger_launcher("agent-http", tmp_path / "agent", extra, command="agent") as agent:
            out = py_client(run_client, jaeger_python, agent, "e2e-agent-http")
            wait_for_trace(collector, out["trace_id"], 3)
            scrape = collector.metrics()
            assert scrape.value(RECEIVED, svc="e2e-agent-http", format="jaeger", transport="http") == 3
            scrape = agent.wait_metric(SPANS_SUBMITTED, 3, format="jaeger", protocol="http")
            assert scrape.value(SPANS_FAILURES) == 0
