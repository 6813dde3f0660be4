"""Jaeger-native ingest end to end: real Jaeger clients send to pyjaeger, the query API reads back.

One all-in-one receives, on its Jaeger ports, the trace each client script emits:

| case | client | wire |
|---|---|---|
| py-compact | Python jaeger-client 4.8.0 | UDP 6831, compact emitBatch |
| otel-thrift-agent | OTel SDK 1.27 + jaeger-thrift 1.21 | UDP 6831, compact emitBatch |
| otel-thrift-collector | same, collector mode | HTTP 14268, bare binary Batch |
| otel-proto-grpc | OTel SDK 1.27 + jaeger-proto-grpc 1.21 | gRPC 14250 PostSpans |
| node-6832 | Node jaeger-client 3.19.0 | UDP 6832, binary emitBatch |
| node-on-6831 | same | UDP 6831, **binary** emitBatch on the compact port |

Each client script prints the spans as its own encoder put them on the wire (ids, times in µs,
tags as ``[key, type, value]``); the tests check that ``GET /api/traces/{id}`` renders exactly
that after Jaeger v1's query adjusters (shared/reference/jaeger-contracts.md §3, §4.7): tags and
process tags sorted by key, a string ``event`` log field first and the rest sorted,
``telemetry.sdk.*`` span tags moved to the process, the parent reference first. Each case also
spells out a few values by hand, so an echo of a wrong wire description cannot pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PY_ROOT, PY_CHILD, PY_GRANDCHILD = "GET /py", "cache lookup", "compute"
OTEL_ROOT, OTEL_CHILD, OTEL_GRANDCHILD = "GET /e2e", "cache lookup", "compute"
NODE_ROOT, NODE_CHILD, NODE_GRANDCHILD = "GET /node", "cache lookup", "compute"
OTEL_LINKED_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"  # fixed in otel_send.py
OTEL_LINKED_SPAN_ID = "b7ad6b7169203331"
# Span tags Jaeger's OTelTagAdjuster moves to the process.
SDK_TAGS = ("telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version")


@dataclass(frozen=True)
class Case:
    id: str
    client: str  # "jaeger-client" | "otel" | "node"
    port: str  # PyjaegerServer.ports key the client sends to
    mode: str = ""  # otel_jaeger_send.py --mode
    fmt: str = "jaeger"  # jaeger_collector_spans_received_total labels
    transport: str = "udp"

    @property
    def names(self) -> tuple[str, str, str]:
        return {
            "jaeger-client": (PY_ROOT, PY_CHILD, PY_GRANDCHILD),
            "otel": (OTEL_ROOT, OTEL_CHILD, OTEL_GRANDCHILD),
            "node": (NODE_ROOT, NODE_CHILD, NODE_GRANDCHILD),
        }[self.client]


CASES = [
    Case("py-compact", "jaeger-client", "agent_compact"),
    Case("otel-thrift-agent", "otel", "agent_compact", mode="thrift-agent"),
    Case("otel-thrift-collector", "otel", "collector_http", mode="thrift-collector", transport="http"),
    Case("otel-proto-grpc", "otel", "collector_grpc", mode="proto-grpc", fmt="proto", transport="grpc"),
    Case("node-6832", "node", "agent_binary"),
    Case("node-on-6831", "node", "agent_compact"),
]


@dataclass
class Sent:
    case: Case
    server: Any  # conftest.PyjaegerServer
    service: str
    out: dict[str, Any]  # what the client script printed
    trace: dict[str, Any]  # data[0] of GET /api/traces/{traceID}

    def __repr__(self) -> str:
        return f"<Sent {self.case.id} trace {self.out['trace_id']}>"

    @property
    def trace_id(self) -> str:
        return jaeger_id(self.out["trace_id"])

    def span(self, name: str) -> dict[str, Any]:
        matches: list[dict[str, Any]] = [s for s in self.trace["spans"] if s["operationName"] == name]
        assert len(matches) == 1, f"{len(matches)} spans named {name!r}"
        return matches[0]

    def process(self, name: str) -> dict[str, Any]:
        process: dict[str, Any] = self.trace["processes"][self.span(name)["processID"]]
        return process

    def wire(self, name: str) -> dict[str, Any]:
        """The span as the client encoded it: {span_id, start_us, duration_us, tags, logs, ...}."""
        if self.case.client == "otel":
            wire: dict[str, Any] = dict(self.out["wire"][name])
            wire["span_id"] = self.out["spans"][name]["span_id"]
            wire["parent_span_id"] = self.out["spans"][name]["parent_span_id"]
            return wire
        span: dict[str, Any] = self.out["spans"][name]
        return span


def jaeger_id(hex_id: str) -> str:
    """Jaeger renders 16 hex digits when the high 64 bits are zero, else all 32."""
    hex_id = hex_id.rjust(32, "0")
    return hex_id[16:] if int(hex_id[:16], 16) == 0 else hex_id


def typed(kvs: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """Query-JSON tags in order, as (key, type, value)."""
    return [(kv["key"], kv["type"], kv["value"]) for kv in kvs]


def tag_map(kvs: list[dict[str, Any]]) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for kv in kvs:
        assert kv["key"] not in out, f"duplicate tag {kv['key']!r} in {kvs}"
        out[kv["key"]] = (kv["type"], kv["value"])
    return out


def as_sorted(wire_tags: list[list[Any]]) -> list[tuple[str, str, Any]]:
    """Wire tags the way Jaeger's SortTagsAndLogFields leaves them (by key, type, value)."""
    return sorted(((k, t, v) for k, t, v in wire_tags), key=lambda kv: (kv[0], kv[1], str(kv[2])))


def log_fields_adjusted(fields: list[list[Any]]) -> list[tuple[str, str, Any]]:
    """Jaeger sorts log fields, except that a string ``event`` field goes first."""
    ordered = as_sorted(fields)
    events = [f for f in ordered if f[0] == "event" and f[1] == "string"]
    return events[:1] + [f for f in ordered if f not in events[:1]]


def send(
    case: Case,
    server: Any,
    service: str,
    run: Callable[..., dict[str, Any]],
    python: Any,
    run_node: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    if case.client == "node":
        host, port = server.udp_address(case.port)
        return run_node("--host", host, "--port", str(port), "--service", service)
    if case.client == "jaeger-client":
        host, port = server.udp_address(case.port)
        return run(python, "jaeger_client_send.py", "--agent", f"{host}:{port}", "--service", service)
    if case.mode == "thrift-agent":
        host, port = server.udp_address(case.port)
        endpoint = f"{host}:{port}"
    elif case.mode == "thrift-collector":
        endpoint = f"{server.collector_http_url}/api/traces?format=jaeger.thrift"
    else:
        endpoint = server.collector_grpc_endpoint
    args = ["--mode", case.mode, "--endpoint", endpoint, "--service", service]
    return run(python, "otel_jaeger_send.py", *args)


@pytest.fixture(scope="module")
def aio(pyjaeger_launcher: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One all-in-one for every case; each case has its own service name."""
    with pyjaeger_launcher("jaeger-clients", tmp_path_factory.mktemp("jaeger-clients")) as server:
        yield server


@pytest.fixture(scope="module")
def send_case(
    aio: Any,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    run_node_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
) -> Callable[[Case], Sent]:
    """Sends each case's trace once; `sent` and `otel_sent` share the results."""
    done: dict[str, Sent] = {}

    def get(case: Case) -> Sent:
        if case.id not in done:
            service = f"e2e-{case.id}"
            out = send(case, aio, service, run_client, jaeger_python, run_node_client)
            trace = wait_for_trace(aio, jaeger_id(out["trace_id"]), 3)
            done[case.id] = Sent(case=case, server=aio, service=service, out=out, trace=trace)
        return done[case.id]

    return get


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


OTEL_CASES = [c for c in CASES if c.client == "otel"]
NON_OTEL_CASES = [c for c in CASES if c.client != "otel"]


@pytest.fixture(scope="module", params=OTEL_CASES, ids=[c.id for c in OTEL_CASES])
def otel_sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


@pytest.fixture(scope="module", params=NON_OTEL_CASES, ids=[c.id for c in NON_OTEL_CASES])
def client_sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


# -- ids and tree ------------------------------------------------------------------------------


def test_trace_id_width(sent: Sent) -> None:
    # jaeger-client (Python and Node) makes 64-bit trace ids, OTel 128-bit ones.
    assert len(sent.trace_id) == (32 if sent.case.client == "otel" else 16)
    assert sent.trace["traceID"] == sent.trace_id
    assert sorted(s["operationName"] for s in sent.trace["spans"]) == sorted(sent.case.names)
    assert not sent.trace.get("warnings")


def test_span_ids_and_references(sent: Sent) -> None:
    root, child, grandchild = sent.case.names
    for name in (root, child, grandchild):
        span, wire = sent.span(name), sent.wire(name)
        assert span["traceID"] == sent.trace_id
        assert span["spanID"] == wire["span_id"]
        assert span["flags"] == 1  # sampled
        assert "parentSpanID" not in span
        assert not span.get("warnings"), span["warnings"]
    assert sent.span(root)["references"] == []
    assert sent.span(child)["references"] == [
        {"refType": "CHILD_OF", "traceID": sent.trace_id, "spanID": sent.wire(root)["span_id"]}
    ]
    parent_ref = {"refType": "CHILD_OF", "traceID": sent.trace_id, "spanID": sent.wire(child)["span_id"]}
    refs = sent.span(grandchild)["references"]
    if sent.case.client == "node":
        assert refs == [parent_ref]
    elif sent.case.client == "jaeger-client":
        # parentSpanId plus an explicit FOLLOWS_FROM: the parent becomes a CHILD_OF, first.
        linked = sent.out["linked"]
        assert refs == [
            parent_ref,
            {"refType": "FOLLOWS_FROM", "traceID": linked["trace_id"], "spanID": linked["span_id"]},
        ]
    else:  # the link becomes a FOLLOWS_FROM to a 128-bit trace
        assert refs == [
            parent_ref,
            {"refType": "FOLLOWS_FROM", "traceID": OTEL_LINKED_TRACE_ID, "spanID": OTEL_LINKED_SPAN_ID},
        ]


def test_times_as_sent(sent: Sent) -> None:
    for name in sent.case.names:
        span, wire = sent.span(name), sent.wire(name)
        assert span["startTime"] == wire["start_us"], name
        assert span["duration"] == wire["duration_us"], name
    if sent.case.client == "otel":
        # and against the SDK's own nanoseconds, independent of the wire description
        for name in sent.case.names:
            sdk = sent.out["spans"][name]
            assert abs(sent.span(name)["startTime"] * 1000 - sdk["start_ns"]) < 1000, name
            assert abs(sent.span(name)["duration"] * 1000 - (sdk["end_ns"] - sdk["start_ns"])) < 2000, name
    elif sent.case.client == "node":
        # send.js starts the root a quarter millisecond past a whole one, exact in binary
        assert sent.span(NODE_ROOT)["startTime"] % 1000 == 250
        assert sent.span(NODE_ROOT)["duration"] == 6000


# -- tags, logs, process -----------------------------------------------------------------------


def test_span_tags_as_sent(sent: Sent) -> None:
    for name in sent.case.names:
        wire_tags = [t for t in sent.wire(name)["tags"] if t[0] not in SDK_TAGS]
        assert typed(sent.span(name)["tags"]) == as_sorted(wire_tags), name


def test_root_tag_types(sent: Sent) -> None:
    tags = tag_map(sent.span(sent.case.names[0])["tags"])
    assert tags["span.kind"] == ("string", "server")
    if sent.case.client == "jaeger-client":
        assert tags["http.status_code"] == ("int64", 200)
        assert type(tags["http.status_code"][1]) is int
        assert tags["e2e.ratio"] == ("float64", 0.25)
        assert tags["e2e.cached"] == ("bool", False)
        assert tags["sampler.type"] == ("string", "const")
        assert tags["sampler.param"] == ("bool", True)
    elif sent.case.client == "node":
        assert tags["http.method"] == ("string", "GET")
        assert tags["http.status_code"] == ("float64", 200)  # every JS number is a DOUBLE tag
        assert tags["e2e.ratio"] == ("float64", 0.25)
        assert tags["e2e.cached"] == ("bool", False)
        assert tags["sampler.type"] == ("string", "const")
    else:
        assert tags["http.method"] == ("string", "GET")
        assert tags["http.status_code"] == ("int64", 200)
        assert tags["e2e.ratio"] == ("float64", 0.25)
        assert tags["e2e.cached"] == ("bool", False)
        assert tags["e2e.tags"] == ("string", "('a', 'b')")  # the exporter's str(tuple)
        assert tags["otel.library.name"] == ("string", "pyjaeger-e2e")
        assert tags["otel.scope.version"] == ("string", "1.0.0")


def test_error_tag(sent: Sent) -> None:
    tags = tag_map(sent.span(sent.case.names[1])["tags"])
    assert tags["error"] == ("bool", True)
    if sent.case.client == "otel":
        assert tags["otel.status_code"] == ("string", "ERROR")
        assert tags["otel.status_description"] == ("string", "boom")


def test_otel_resource_attributes_are_span_tags(otel_sent: Sent) -> None:
    sent = otel_sent
    for name in sent.case.names:
        tags = tag_map(sent.span(name)["tags"])
        assert tags["service.name"] == ("string", sent.service)
        assert tags["deployment.environment"] == ("string", "e2e")
        assert tags["host.name"] == ("string", "e2e-host")
        for key in SDK_TAGS:
            assert key not in tags  # moved to the process by the OTelTagAdjuster


def test_logs_as_sent(sent: Sent) -> None:
    for name in sent.case.names:
        logs = sent.span(name)["logs"]
        wire_logs = sent.wire(name)["logs"]
        assert [entry["timestamp"] for entry in logs] == [w["timestamp_us"] for w in wire_logs], name
        assert [typed(entry["fields"]) for entry in logs] == [
            log_fields_adjusted(w["fields"]) for w in wire_logs
        ], name
    child_logs = sent.span(sent.case.names[1])["logs"]
    assert len(child_logs) == 1
    fields = tag_map(child_logs[0]["fields"])
    if sent.case.client == "otel":
        assert fields == {"message": ("string", "cache miss"), "n": ("int64", 1)}
    elif sent.case.client == "node":
        assert fields == {"event": ("string", "cache miss"), "n": ("float64", 1)}
    else:
        assert fields == {"event": ("string", "cache miss"), "n": ("int64", 1)}


def test_process(client_sent: Sent) -> None:
    sent = client_sent
    process_ids = {s["processID"] for s in sent.trace["spans"]}
    assert len(process_ids) == 1  # one client process
    assert set(sent.trace["processes"]) == process_ids
    process = sent.process(sent.case.names[0])
    assert process["serviceName"] == sent.service
    tags = tag_map(process["tags"])
    assert [kv["key"] for kv in process["tags"]] == sorted(tags)
    if sent.case.client == "jaeger-client":
        assert typed(process["tags"]) == as_sorted(sent.out["process_tags"])
        assert tags["jaeger.version"] == ("string", "Python-4.8.0")
        assert set(tags) == {"jaeger.version", "hostname", "ip", "e2e.client"}
        assert tags["ip"][0] == "string"
    elif sent.case.client == "node":
        expected = {k: ("string", v) for k, v in sent.out["process_tags"].items()}
        assert tags == expected
        assert tags["jaeger.version"] == ("string", "Node-3.19.0")
        assert {"hostname", "ip", "client-uuid"} <= set(tags)


def test_otel_process(otel_sent: Sent) -> None:
    sent = otel_sent
    process_ids = {s["processID"] for s in sent.trace["spans"]}
    assert len(process_ids) == 1
    process = sent.process(OTEL_ROOT)
    assert process["serviceName"] == sent.service
    root_wire = sent.wire(OTEL_ROOT)
    moved = [tuple(t) for t in root_wire["tags"] if t[0] in SDK_TAGS]
    # thrift: the process is the service name alone, plus the SDK tags the adjuster moved in.
    # proto-grpc: the span's own process carries the whole resource, and Jaeger's adjuster
    # appends the moved SDK tags again (Jaeger v1.76 then shows each twice; once is fine too).
    values: dict[str, set[tuple[str, Any]]] = {}
    for key, kind, value in typed(process["tags"]):
        values.setdefault(key, set()).add((kind, value))
    expected: dict[str, set[tuple[str, Any]]] = {}
    for key, kind, value in [*map(tuple, root_wire["process"]["tags"]), *moved]:
        expected.setdefault(key, set()).add((kind, value))
    assert values == expected
    assert [kv["key"] for kv in process["tags"]] == sorted(kv["key"] for kv in process["tags"])
    assert values["telemetry.sdk.language"] == {("string", "python")}
    assert values["telemetry.sdk.version"] == {("string", "1.27.0")}
    if sent.case.mode == "proto-grpc":
        assert values["host.name"] == {("string", "e2e-host")}
        assert values["service.name"] == {("string", sent.service)}
    else:
        assert set(values) == set(SDK_TAGS)


# -- services, search, metrics ------------------------------------------------------------------


def test_services_and_operations(sent: Sent) -> None:
    services = sent.server.query("/api/services").json()["data"]
    assert sent.service in services
    operations = sent.server.query(f"/api/services/{sent.service}/operations").json()["data"]
    assert sorted(operations) == sorted(sent.case.names)


def test_search_by_error_tag(sent: Sent) -> None:
    resp = sent.server.query("/api/traces", service=sent.service, tags='{"error":"true"}')
    assert resp.status_code == 200, resp.text
    assert [t["traceID"] for t in resp.json()["data"]] == [sent.trace_id]


def test_spans_received_metric(sent: Sent) -> None:
    scrape = sent.server.metrics()
    received = scrape.value(
        "jaeger_collector_spans_received_total",
        svc=sent.service,
        format=sent.case.fmt,
        transport=sent.case.transport,
    )
    assert received == 3, scrape.labelled("jaeger_collector_spans_received_total")
