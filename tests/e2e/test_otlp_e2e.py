"""OTLP end to end: the real OpenTelemetry SDK exports to pyjaeger, the query API reads it back.

For each transport (gRPC, HTTP; each plain and gzip) one server receives the trace that
tests/clients/otel_send.py emits, and the tests below check what Jaeger's v1 JSON API would
answer for it (shared/reference/jaeger-contracts.md §3 and §5.1): ids, tree, timestamps, tags,
process, logs, the link, services and operations, and tag search.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT, CHILD, GRANDCHILD = "GET /e2e", "cache lookup", "compute"
LINKED_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"  # fixed in otel_send.py
LINKED_SPAN_ID = "b7ad6b7169203331"
CASES = [("grpc", "none"), ("grpc", "gzip"), ("http", "none"), ("http", "gzip")]


@dataclass
class Sent:
    server: Any  # conftest.PyjaegerServer
    service: str
    out: dict[str, Any]  # what otel_send.py printed
    trace: dict[str, Any]  # data[0] of GET /api/traces/{traceID}

    def __repr__(self) -> str:
        return f"<Sent {self.out['protocol']}/{self.out['compression']} trace {self.out['trace_id']}>"

    @property
    def trace_id(self) -> str:
        return jaeger_trace_id(self.out["trace_id"])

    def span(self, name: str) -> dict[str, Any]:
        matches: list[dict[str, Any]] = [s for s in self.trace["spans"] if s["operationName"] == name]
        assert len(matches) == 1, f"{len(matches)} spans named {name!r}"
        return matches[0]

    def sent(self, name: str) -> dict[str, Any]:
        span: dict[str, Any] = self.out["spans"][name]
        return span


def jaeger_trace_id(hex32: str) -> str:
    """Jaeger renders 16 hex digits when the high 64 bits are zero, else all 32."""
    return hex32[16:] if int(hex32[:16], 16) == 0 else hex32


def tag_map(kvs: list[dict[str, Any]]) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for kv in kvs:
        assert kv["key"] not in out, f"duplicate tag {kv['key']!r} in {kvs}"
        out[kv["key"]] = (kv["type"], kv["value"])
    return out


def send(
    run_client: Callable[..., dict[str, Any]],
    python: Any,
    server: Any,
    protocol: str,
    compression: str,
    service: str,
) -> dict[str, Any]:
    endpoint = server.otlp_grpc_endpoint if protocol == "grpc" else server.otlp_http_url
    args = ["--protocol", protocol, "--endpoint", endpoint, "--service", service]
    return run_client(python, "otel_send.py", *args, "--compression", compression)


@pytest.fixture(scope="module", params=CASES, ids=[f"{p}-{c}" for p, c in CASES])
def sent(
    request: pytest.FixtureRequest,
    pyjaeger_launcher: Any,
    otel_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sent]:
    protocol, compression = request.param
    name = f"otlp-{protocol}-{compression}"
    service = f"e2e-{name}"
    with pyjaeger_launcher(name, tmp_path_factory.mktemp(name)) as server:
        out = send(run_client, otel_python, server, protocol, compression, service)
        trace = wait_for_trace(server, out["trace_id"], 3)
        yield Sent(server=server, service=service, out=out, trace=trace)


def envelope(resp: Any) -> Any:
    """Check Jaeger's v1 envelope and return ``data``."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"data", "total", "limit", "offset", "errors"}, body
    assert body["errors"] is None, body
    return body["data"]


def found_trace_ids(resp: Any) -> list[str]:
    return [t["traceID"] for t in envelope(resp) or []]


# -- GET /api/traces/{traceID} -----------------------------------------------------------------


def test_get_trace_envelope(sent: Sent) -> None:
    body = sent.server.query(f"/api/traces/{sent.out['trace_id']}").json()
    assert body["total"] == 0 and body["limit"] == 0 and body["offset"] == 0
    assert body["errors"] is None
    assert len(body["data"]) == 1
    assert not sent.trace.get("warnings")


def test_ids_and_tree(sent: Sent) -> None:
    assert len(sent.trace_id) == 32  # OTel ids are 128 bit
    assert sent.trace["traceID"] == sent.trace_id
    names = sorted(s["operationName"] for s in sent.trace["spans"])
    assert names == sorted([ROOT, CHILD, GRANDCHILD])
    for name in (ROOT, CHILD, GRANDCHILD):
        span, expected = sent.span(name), sent.sent(name)
        assert span["traceID"] == sent.trace_id
        assert span["spanID"] == expected["span_id"]
        assert "parentSpanID" not in span  # Jaeger never fills it; the UI reads references[0]
        assert not span.get("warnings"), span["warnings"]
        if expected["parent_span_id"] is None:
            assert span["references"] == []
        else:
            assert span["references"][0] == {
                "refType": "CHILD_OF",
                "traceID": sent.trace_id,
                "spanID": expected["parent_span_id"],
            }
    assert sent.span(CHILD)["references"][0]["spanID"] == sent.span(ROOT)["spanID"]
    assert sent.span(GRANDCHILD)["references"][0]["spanID"] == sent.span(CHILD)["spanID"]


def test_times_truncated_to_microseconds(sent: Sent) -> None:
    for name in (ROOT, CHILD, GRANDCHILD):
        span, expected = sent.span(name), sent.sent(name)
        assert span["startTime"] == expected["start_ns"] // 1000, name
        assert span["duration"] == (expected["end_ns"] - expected["start_ns"]) // 1000, name
    # The root's times were chosen so truncating end and start separately would be off by one.
    root = sent.sent(ROOT)
    assert sent.span(ROOT)["duration"] != root["end_ns"] // 1000 - root["start_ns"] // 1000


def test_root_span_tags(sent: Sent) -> None:
    tags = tag_map(sent.span(ROOT)["tags"])
    assert tags["http.method"] == ("string", "GET")
    assert tags["http.status_code"] == ("int64", 200)
    assert type(tags["http.status_code"][1]) is int
    assert tags["e2e.ratio"] == ("float64", 0.25)
    assert tags["e2e.cached"] == ("bool", False)
    # OTLP arrays become compact JSON text, as pcommon's AsString writes it
    assert tags["e2e.tags"] == ("string", '["a","b"]')
    assert tags["span.kind"] == ("string", "server")
    assert tags["otel.scope.name"] == ("string", "pyjaeger-e2e")
    assert tags["otel.scope.version"] == ("string", "1.0.0")
    for absent in ("error", "otel.status_code", "otel.status_description"):
        assert absent not in tags  # status UNSET adds nothing


def test_error_span_tags(sent: Sent) -> None:
    tags = tag_map(sent.span(CHILD)["tags"])
    assert tags["span.kind"] == ("string", "client")
    assert tags["error"] == ("bool", True)
    assert tags["otel.status_code"] == ("string", "ERROR")
    assert tags["otel.status_description"] == ("string", "boom")
    assert tags["otel.scope.name"] == ("string", "pyjaeger-e2e")


def test_internal_span_tags(sent: Sent) -> None:
    tags = tag_map(sent.span(GRANDCHILD)["tags"])
    assert tags["span.kind"] == ("string", "internal")
    assert "error" not in tags
    assert "e2e.link" not in tags  # link attributes are not span tags


def test_process_from_resource(sent: Sent) -> None:
    process_ids = {s["processID"] for s in sent.trace["spans"]}
    assert len(process_ids) == 1  # one resource, one process
    assert set(sent.trace["processes"]) == process_ids
    process = sent.trace["processes"][process_ids.pop()]
    assert process["serviceName"] == sent.service
    expected = {k: ("string", v) for k, v in sent.out["resource"].items() if k != "service.name"}
    assert tag_map(process["tags"]) == expected
    # spelled out, so a change in the SDK's default resource cannot hide a loss
    sdk_keys = ("telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version")
    for key in ("deployment.environment", "host.name", *sdk_keys):
        assert key in expected
    assert expected["deployment.environment"] == ("string", "e2e")
    assert expected["host.name"] == ("string", "e2e-host")


def test_event_becomes_log(sent: Sent) -> None:
    event = sent.sent(CHILD)["events"][0]
    assert sent.span(CHILD)["logs"] == [
        {
            "timestamp": event["time_ns"] // 1000,
            "fields": [
                {"key": "event", "type": "string", "value": "cache miss"},
                {"key": "n", "type": "int64", "value": 1},
            ],
        }
    ]
    assert sent.span(ROOT)["logs"] == []
    assert sent.span(GRANDCHILD)["logs"] == []


def test_link_becomes_follows_from(sent: Sent) -> None:
    link = sent.sent(GRANDCHILD)["links"][0]
    assert (link["trace_id"], link["span_id"]) == (LINKED_TRACE_ID, LINKED_SPAN_ID)
    refs = sent.span(GRANDCHILD)["references"]
    assert len(refs) == 2
    assert refs[1] == {"refType": "FOLLOWS_FROM", "traceID": LINKED_TRACE_ID, "spanID": LINKED_SPAN_ID}


# -- services and operations ------------------------------------------------------------------


def test_services(sent: Sent) -> None:
    resp = sent.server.query("/api/services")
    data = envelope(resp)
    assert sent.service in data
    assert resp.json()["total"] == len(data)


def test_service_operations_legacy(sent: Sent) -> None:
    resp = sent.server.query(f"/api/services/{sent.service}/operations")
    data = envelope(resp)
    assert sorted(data) == sorted([ROOT, CHILD, GRANDCHILD])
    assert resp.json()["total"] == len(data)


def test_operations_with_span_kind(sent: Sent) -> None:
    everything = envelope(sent.server.query("/api/operations", service=sent.service))
    assert sorted(everything, key=lambda op: op["name"]) == sorted(
        [
            {"name": ROOT, "spanKind": "server"},
            {"name": CHILD, "spanKind": "client"},
            {"name": GRANDCHILD, "spanKind": "internal"},
        ],
        key=lambda op: op["name"],
    )
    servers = envelope(sent.server.query("/api/operations", service=sent.service, spanKind="server"))
    assert servers == [{"name": ROOT, "spanKind": "server"}]


# -- search ------------------------------------------------------------------------------------


def test_search_by_tags_json(sent: Sent) -> None:
    resp = sent.server.query("/api/traces", service=sent.service, tags='{"http.status_code":"200"}')
    traces = envelope(resp)
    assert [t["traceID"] for t in traces] == [sent.trace_id]
    assert len(traces[0]["spans"]) == 3  # traces come back whole, not just the matching span


def test_search_as_ui_sends_it(sent: Sent) -> None:
    start_us = sent.sent(ROOT)["start_ns"] // 1000
    resp = sent.server.query(
        "/api/traces",
        service=sent.service,
        operation=ROOT,
        start=start_us - 3_600_000_000,
        end=start_us + 60_000_000,
        limit=20,
        lookback="1h",
        minDuration="",
        maxDuration="",
        tags='{"http.method":"GET"}',
    )
    assert found_trace_ids(resp) == [sent.trace_id]


def test_search_by_error_tag(sent: Sent) -> None:
    resp = sent.server.query("/api/traces", service=sent.service, tag="error:true")
    assert found_trace_ids(resp) == [sent.trace_id]


def test_search_by_resource_attribute(sent: Sent) -> None:
    resp = sent.server.query("/api/traces", service=sent.service, tags='{"deployment.environment":"e2e"}')
    assert found_trace_ids(resp) == [sent.trace_id]


def test_search_misses(sent: Sent) -> None:
    # a value nobody has
    resp = sent.server.query("/api/traces", service=sent.service, tags='{"http.status_code":"500"}')
    assert found_trace_ids(resp) == []
    # both tags exist, but on different spans: one span must match every condition (§4.1)
    resp = sent.server.query(
        "/api/traces", service=sent.service, tags='{"http.status_code":"200","error":"true"}'
    )
    assert found_trace_ids(resp) == []
    resp = sent.server.query("/api/traces", service="no-such-service")
    assert found_trace_ids(resp) == []


# -- shutdown ----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sigterm_after_ingest_exits_zero(
    protocol: str,
    pyjaeger_server: Any,
    otel_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> None:
    server = pyjaeger_server
    out = send(run_client, otel_python, server, protocol, "none", f"e2e-sigterm-{protocol}")
    wait_for_trace(server, out["trace_id"], 3)
    code = server.stop(signal.SIGTERM)
    assert code == 0, server.log()
    assert server.stop_seconds is not None and server.stop_seconds < 5.0, server.stop_seconds
