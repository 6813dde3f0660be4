"""Zipkin end to end: real Zipkin clients POST to pyjaeger's 9411 receiver, the query API reads back.

One all-in-one receives, on its Zipkin port, the two-service trace each client script emits:

| case | client | wire |
|---|---|---|
| otel-json | opentelemetry-exporter-zipkin-json 1.45.1 (SDK 1.45.2) | POST /api/v2/spans, JSON |
| otel-proto | opentelemetry-exporter-zipkin-proto-http 1.27.0 | POST /api/v2/spans, proto3 ListOfSpans |
| py-v1-json | py_zipkin 1.2.8, Encoding.V1_JSON | POST /api/v1/spans, JSON |
| py-v2-json | py_zipkin 1.2.8, Encoding.V2_JSON | POST /api/v2/spans, JSON |
| py-v1-thrift | py_zipkin 0.20.2, Encoding.V1_THRIFT | POST /api/v1/spans, ``application/x-thrift`` |
| node-v2-json | zipkin-js (zipkin, zipkin-transport-http 0.22.0), JSON_V2 | POST /api/v2/spans, JSON |

Every trace is: a root SERVER span in service A, a CLIENT child in A with an annotation, and
B's SERVER span for that call. The OpenTelemetry exporters give B's span its own id (a child of
A's client span); py_zipkin and zipkin-js propagate B3 the Zipkin way, so B's span **shares** the
client span's id (v1: two spans with one id; v2: ``shared: true``). Jaeger's query then applies
ZipkinSpanIDUniquifier (shared/reference/jaeger-contracts.md §4.7): the server span gets a new id
and the shared id becomes its parent; ``?raw=true`` skips that. The new id is the smallest id from
1 up that no span of the trace uses (Jaeger's ``makeUniqueSpanID`` counts up from ``maxUsedID``,
which starts at 0 and is never raised to the trace's ids), so in practice ``0000000000000001``.
Tag, log and status rules: §5.3 (Zipkin → OTLP) then §5.1 (→ Jaeger).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
HOST = "127.0.0.1"
ROOT, CALL = "GET /checkout", "GET /inventory"
# The OpenTelemetry Zipkin exporters write an event as JSON {name: attributes} into the value.
OTEL_EVENT = json.dumps({"cache miss": {}})


def _load_venvs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pyjaeger_tests_zipkin_venvs", CLIENTS_DIR / "venvs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


venvs = _load_venvs()


@dataclass(frozen=True)
class Case:
    id: str
    client: str  # "otel" | "py" | "node"
    venv: str  # tests/clients/requirements-<venv>.txt; "node-zipkin" for the npm project
    arg: str  # zipkin_otel_send.py --protocol / zipkin_py_send.py --encoding
    path: str  # the receiver path the client posts to
    shared: bool  # B's server span reuses A's client span id
    event: str  # the log's `event` value the client's annotation becomes
    error_span: str  # which span carries the error: "server" | "client"

    @property
    def names(self) -> dict[str, str]:
        # zipkin-js lower-cases span names (Rpc annotation).
        lower = self.client == "node"
        return {k: v.lower() if lower else v for k, v in (("root", ROOT), ("client", CALL), ("server", CALL))}


CASES = [
    Case("otel-json", "otel", "zipkin-json", "json", "/api/v2/spans", False, OTEL_EVENT, "server"),
    Case("otel-proto", "otel", "zipkin-proto", "proto", "/api/v2/spans", False, OTEL_EVENT, "server"),
    Case("py-v1-json", "py", "zipkin-py", "v1_json", "/api/v1/spans", True, "cache miss", "server"),
    Case("py-v2-json", "py", "zipkin-py", "v2_json", "/api/v2/spans", True, "cache miss", "server"),
    Case(
        "py-v1-thrift", "py", "zipkin-py-thrift", "v1_thrift", "/api/v1/spans", True, "cache miss", "server"
    ),
    Case("node-v2-json", "node", "node-zipkin", "", "/api/v2/spans", True, "cache miss", "client"),
]
SHARED_CASES = [c for c in CASES if c.shared]
UNSHARED_CASES = [c for c in CASES if not c.shared]


def jaeger_id(hex_id: str) -> str:
    """Jaeger renders 16 hex digits when the high 64 bits are zero, else all 32."""
    hex_id = hex_id.rjust(32, "0")
    return hex_id[16:] if int(hex_id[:16], 16) == 0 else hex_id


def tags_of(span: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(kv["key"], kv["type"], kv["value"]) for kv in span["tags"]]


def tag(span: dict[str, Any], key: str) -> tuple[str, Any]:
    found = [(t, v) for k, t, v in tags_of(span) if k == key]
    assert len(found) == 1, f"{len(found)} tags {key!r} in {span['tags']}"
    return found[0]


def child_of(trace_id: str, span_id: str) -> dict[str, str]:
    return {"refType": "CHILD_OF", "traceID": trace_id, "spanID": span_id}


@dataclass
class Sent:
    case: Case
    server: Any  # conftest.PyjaegerServer
    service_a: str
    service_b: str
    out: dict[str, Any]  # what the client script printed
    trace: dict[str, Any]  # data[0] of GET /api/traces/{traceID}

    def __repr__(self) -> str:
        return f"<Sent {self.case.id} trace {self.out['trace_id']}>"

    @property
    def trace_id(self) -> str:
        return jaeger_id(self.out["trace_id"])

    def sent_id(self, which: str) -> str:
        span_id: str = self.out["spans"][which]["span_id"]
        return span_id

    def service(self, span: dict[str, Any]) -> str:
        name: str = self.trace["processes"][span["processID"]]["serviceName"]
        return name

    def span(self, which: str) -> dict[str, Any]:
        """``root``, ``client`` or ``server``, found by service, name and span.kind."""
        kind = "client" if which == "client" else "server"
        service = self.service_b if which == "server" else self.service_a
        matches: list[dict[str, Any]] = [
            s
            for s in self.trace["spans"]
            if self.service(s) == service
            and s["operationName"] == self.case.names[which]
            and ("span.kind", "string", kind) in tags_of(s)
        ]
        assert len(matches) == 1, f"{len(matches)} {which} spans in {self.trace['spans']}"
        return matches[0]


def send(case: Case, server: Any, service_a: str, service_b: str, run: Callable[..., dict[str, Any]]) -> Any:
    base = f"http://{HOST}:{server.ports['zipkin']}"
    services = ["--service-a", service_a, "--service-b", service_b]
    if case.client == "node":
        node = shutil.which("node")
        assert node is not None, "node is not on PATH"
        installed = venvs.node_client_dir(CLIENTS_DIR / case.venv, name=case.venv)
        env = venvs.node_env(installed)
        return run(Path(node), f"{case.venv}/send.js", "--endpoint", base + case.path, *services, env=env)
    python = venvs.client_python(case.venv, CLIENTS_DIR / f"requirements-{case.venv}.txt")
    if case.client == "otel":
        return run(
            python, "zipkin_otel_send.py", "--protocol", case.arg, "--endpoint", base + case.path, *services
        )
    return run(python, "zipkin_py_send.py", "--encoding", case.arg, "--url", base, *services)


@pytest.fixture(scope="module")
def aio(pyjaeger_launcher: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One all-in-one for every case; each case has its own two service names."""
    with pyjaeger_launcher("zipkin-clients", tmp_path_factory.mktemp("zipkin-clients")) as server:
        assert "zipkin" in server.ports, "tests/e2e/conftest.py PORT_FLAGS has no `zipkin` listener"
        yield server


@pytest.fixture(scope="module")
def send_case(
    aio: Any, run_client: Callable[..., dict[str, Any]], wait_for_trace: Callable[..., dict[str, Any]]
) -> Callable[[Case], Sent]:
    """Sends each case's trace once; every test of the case shares the result."""
    done: dict[str, Sent] = {}

    def get(case: Case) -> Sent:
        if case.id not in done:
            service_a, service_b = f"e2e-zipkin-{case.id}-a", f"e2e-zipkin-{case.id}-b"
            out = send(case, aio, service_a, service_b, run_client)
            trace = wait_for_trace(aio, jaeger_id(out["trace_id"]), 3)
            done[case.id] = Sent(case, aio, service_a, service_b, out, trace)
        return done[case.id]

    return get


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


@pytest.fixture(scope="module", params=SHARED_CASES, ids=[c.id for c in SHARED_CASES])
def shared_sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


@pytest.fixture(scope="module", params=UNSHARED_CASES, ids=[c.id for c in UNSHARED_CASES])
def unshared_sent(request: pytest.FixtureRequest, send_case: Callable[[Case], Sent]) -> Sent:
    return send_case(request.param)


# -- what the clients sent ---------------------------------------------------------------------


def test_client_sent_as_designed(sent: Sent) -> None:
    """Guards the premise of the other tests: three spans in two POSTs (B's alone), or one POST."""
    spans = sent.out["spans"]
    assert spans["client"]["parent_span_id"] == spans["root"]["span_id"]
    if sent.case.shared:
        assert spans["server"]["span_id"] == spans["client"]["span_id"]
        assert spans["server"]["parent_span_id"] == spans["root"]["span_id"]
    else:
        assert spans["server"]["span_id"] != spans["client"]["span_id"]
        assert spans["server"]["parent_span_id"] == spans["client"]["span_id"]
    if sent.case.client != "node":
        assert sent.out["spans_per_post"] == [1, 2]


# -- services, kinds, tree ---------------------------------------------------------------------


def test_services(sent: Sent) -> None:
    assert sorted({sent.service(s) for s in sent.trace["spans"]}) == sorted([sent.service_a, sent.service_b])
    assert sent.service(sent.span("root")) == sent.service_a
    assert sent.service(sent.span("client")) == sent.service_a
    assert sent.service(sent.span("server")) == sent.service_b
    services = sent.server.query("/api/services").json()["data"]
    assert {sent.service_a, sent.service_b} <= set(services)
    operations = sent.server.query(f"/api/services/{sent.service_b}/operations").json()["data"]
    assert operations == [sent.case.names["server"]]


def test_trace_id(sent: Sent) -> None:
    assert sent.trace["traceID"] == sent.trace_id
    assert all(s["traceID"] == sent.trace_id for s in sent.trace["spans"])
    assert not sent.trace.get("warnings")


def test_root_and_client_ids_and_parents(sent: Sent) -> None:
    root, client = sent.span("root"), sent.span("client")
    assert root["spanID"] == sent.sent_id("root")
    assert root["references"] == []
    assert client["spanID"] == sent.sent_id("client")
    assert client["references"][0] == child_of(sent.trace_id, root["spanID"])
    for span in sent.trace["spans"]:
        assert "parentSpanID" not in span


def test_server_span_is_child_of_client(sent: Sent) -> None:
    server, client = sent.span("server"), sent.span("client")
    assert server["references"][0] == child_of(sent.trace_id, client["spanID"])
    ids = [s["spanID"] for s in sent.trace["spans"]]
    assert len(set(ids)) == 3, f"span ids not unique after the query's adjusters: {ids}"
    if not sent.case.shared:
        assert server["spanID"] == sent.sent_id("server")


def test_shared_span_gets_unique_id(shared_sent: Sent) -> None:
    """ZipkinSpanIDUniquifier: the server half of a shared span gets the first unused id counting
    from 1 (Jaeger's makeUniqueSpanID), and the shared id becomes its parent."""
    server = shared_sent.span("server")
    shared_id = shared_sent.sent_id("client")
    assert server["spanID"] != shared_id, "no ZipkinSpanIDUniquifier: the server span kept the shared id"
    used = {shared_sent.sent_id("root"), shared_id}
    expected = next(f"{n:016x}" for n in range(1, 4) if f"{n:016x}" not in used)
    assert server["spanID"] == expected
    assert server["references"][0] == child_of(shared_sent.trace_id, shared_id)
    assert not server.get("warnings"), server["warnings"]


def test_raw_keeps_shared_id(shared_sent: Sent) -> None:
    resp = shared_sent.server.query(f"/api/traces/{shared_sent.trace_id}", raw="true")
    assert resp.status_code == 200, resp.text
    spans = resp.json()["data"][0]["spans"]
    shared_id = shared_sent.sent_id("client")
    halves = sorted((s for s in spans if s["spanID"] == shared_id), key=lambda s: tag(s, "span.kind")[1])
    assert [tag(s, "span.kind") for s in halves] == [("string", "client"), ("string", "server")]
    for half in halves:  # both halves say the root is their parent, as they were sent
        assert half["references"][0] == child_of(shared_sent.trace_id, shared_sent.sent_id("root"))


def test_raw_ids_as_sent_for_unshared(unshared_sent: Sent) -> None:
    resp = unshared_sent.server.query(f"/api/traces/{unshared_sent.trace_id}", raw="true")
    assert resp.status_code == 200, resp.text
    ids = sorted(s["spanID"] for s in resp.json()["data"][0]["spans"])
    assert ids == sorted(unshared_sent.sent_id(w) for w in ("root", "client", "server"))


def test_span_kinds(sent: Sent) -> None:
    assert tag(sent.span("root"), "span.kind") == ("string", "server")
    assert tag(sent.span("client"), "span.kind") == ("string", "client")
    assert tag(sent.span("server"), "span.kind") == ("string", "server")


# -- times -------------------------------------------------------------------------------------


def test_times(sent: Sent) -> None:
    root, client, server = sent.span("root"), sent.span("client"), sent.span("server")
    for span in (root, client, server):
        assert span["startTime"] > 1_600_000_000_000_000, span  # not Zipkin's "absent" epoch 0
        assert span["duration"] >= 0
    assert root["startTime"] <= client["startTime"] <= server["startTime"]
    if sent.case.client in ("otel", "node"):  # explicit timestamps in the scripts
        assert client["startTime"] - root["startTime"] == 100
        assert server["startTime"] - root["startTime"] == 200
        assert (root["duration"], client["duration"], server["duration"]) == (1000, 700, 500)
    if sent.case.client == "node":
        assert root["startTime"] == sent.out["spans"]["root"]["start_us"]


# -- tags, logs, errors ------------------------------------------------------------------------


def test_root_tags(sent: Sent) -> None:
    root = sent.span("root")
    assert tag(root, "http.path") == ("string", "/checkout")
    # Zipkin tags are strings; Jaeger does not parse numeric-looking ones (ParseStringTags off).
    assert tag(root, "http.status_code") == ("string", "200")


def test_server_tags(sent: Sent) -> None:
    rows = {"otel": "0", "py": "0", "node": "42"}[sent.case.client]
    assert tag(sent.span("server"), "db.rows") == ("string", rows)


def test_annotation_becomes_log(sent: Sent) -> None:
    client = sent.span("client")
    events = [
        [f for f in log["fields"] if f["key"] == "event"] for log in client["logs"]
    ]  # one log per annotation; v1's cs/cr/sr/ss are timing, not logs
    assert events == [[{"key": "event", "type": "string", "value": sent.case.event}]], client["logs"]
    if sent.case.client == "node":
        assert client["logs"][0]["timestamp"] == sent.out["spans"]["root"]["start_us"] + 150
    for which in ("root", "server"):
        assert sent.span(which)["logs"] == [], which


def test_error_span(sent: Sent) -> None:
    error_span = sent.span(sent.case.error_span)
    bool_errors = [(t, v) for k, t, v in tags_of(error_span) if k == "error" and t == "bool"]
    assert bool_errors == [("bool", True)], error_span["tags"]
    for which in ("root", "client", "server"):
        if which != sent.case.error_span:
            assert ("error", "bool", True) not in tags_of(sent.span(which)), which


def test_search_by_error_tag(sent: Sent) -> None:
    service = sent.service_b if sent.case.error_span == "server" else sent.service_a
    resp = sent.server.query("/api/traces", service=service, tags='{"error":"true"}')
    assert resp.status_code == 200, resp.text
    assert [t["traceID"] for t in resp.json()["data"]] == [sent.trace_id]


# -- self-monitoring ---------------------------------------------------------------------------


def test_spans_received_metric(sent: Sent) -> None:
    scrape = sent.server.metrics()
    name = "jaeger_collector_spans_received_total"
    got = {
        svc: scrape.value(name, svc=svc, format="zipkin", transport="http")
        for svc in (sent.service_a, sent.service_b)
    }
    assert got == {sent.service_a: 2, sent.service_b: 1}, scrape.labelled(name)
