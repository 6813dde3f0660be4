"""`pyjaeger demo` against a real in-process all-in-one: spans over OTLP/HTTP and, for the driver,
Jaeger thrift compact over UDP, read back through the query API. Plus the span translation of its
agent exporter, checked against pyjaeger's own OTLP decoding of the same SDK spans."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from pyjaeger.cmd.cli import build_parser
from pyjaeger.cmd.demo.agent_exporter import AgentSpanExporter, span_to_model
from pyjaeger.cmd.demo.cli import resolve_options
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.model import SpanRefType, ValueType

SERVICES = {"frontend", "customer", "driver", "route"}
DEMO_TIMEOUT_S = 25.0
POLL_TIMEOUT_S = 10.0
FREE_PORTS = ["--frontend-port", "0", "--customer-port", "0", "--driver-port", "0", "--route-port", "0"]


def _endpoints(app: Any) -> tuple[str, str, int]:
    """(OTLP/HTTP base URL, query URL, compact UDP port) of an in-process all-in-one."""
    listeners = app.listeners()

    def port(name: str) -> int:
        return int(listeners[name].rpartition(":")[2])

    return (
        f"http://127.0.0.1:{port('OTLP HTTP receiver')}",
        f"http://127.0.0.1:{port('query HTTP server')}",
        port("agent UDP server (compact)"),
    )


def _demo_env() -> dict[str, str]:
    # The test's own settings only: no OTEL_* or JAEGER_* from whoever runs the suite.
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JAEGER_"))}


async def _start_demo(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    # cwd outside the repo, so the installed package is what runs (as tests/e2e does).
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyjaeger",
        "demo",
        *FREE_PORTS,
        *args,
        cwd=tmp_path,
        env=_demo_env(),
        stdin=subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run_demo(tmp_path: Path, *args: str) -> str:
    """Run the demo to its end; assert exit 0 and return what it logged."""
    proc = await _start_demo(tmp_path, *args)
    out, err = await asyncio.wait_for(proc.communicate(), DEMO_TIMEOUT_S)
    log = err.decode() + out.decode()
    assert proc.returncode == 0, log
    return log


async def _poll(what: str, probe: Callable[[], Any], timeout: float = POLL_TIMEOUT_S) -> Any:
    """Await `probe()` until it returns something truthy; spans are stored asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)


def _spans_received(app: Any, svc: str) -> dict[str, float]:
    """The collector's spans_received for one service, by transport."""
    out: dict[str, float] = {}
    for family in app.registry.collect():
        for sample in family.samples:
            if sample.name == "jaeger_collector_spans_received_total" and sample.labels["svc"] == svc:
                transport = sample.labels["transport"]
                out[transport] = out.get(transport, 0.0) + sample.value
    return out


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in span["tags"]}


class _Trace:
    """A query-API trace with its spans indexed by id and their service names resolved."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.spans = {s["spanID"]: s for s in data["spans"]}
        self.service = {s["spanID"]: data["processes"][s["processID"]]["serviceName"] for s in data["spans"]}

    def parent(self, span: dict[str, Any]) -> dict[str, Any] | None:
        refs = [r for r in span["references"] if r["refType"] == "CHILD_OF"]
        return self.spans[refs[0]["spanID"]] if refs else None

    def find(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [
            s
            for s in self.data["spans"]
            if self.service[s["spanID"]] == service and s["operationName"] == operation
        ]


async def test_demo_traces_all_four_services(make_app: Callable[..., Any], tmp_path: Path) -> None:
    app = await make_app()
    otlp, query, udp_port = _endpoints(app)
    count = 16  # two rounds of the customer cycle: customer 999 (a 5xx) comes up twice
    log = await _run_demo(
        tmp_path, "--count", str(count), "--rate", "50", "--otlp-endpoint", otlp,
        "--agent-host-port", f"127.0.0.1:{udp_port}",
    )  # fmt: skip
    assert "driver → Jaeger agent 127.0.0.1:" in log
    assert f"stopped: {count} requests (14 ok, 2 failed)" in log

    async with httpx.AsyncClient(base_url=query, trust_env=False) as http:

        async def services() -> bool:
            return set((await http.get("/api/services")).json()["data"]) == SERVICES

        await _poll("all four services", services)

        exported = sum(int(n) for n in re.findall(r"(?:otlp|agent) (\d+)", log.splitlines()[-1]))

        async def frontend_traces() -> list[dict[str, Any]] | None:
            resp = await http.get("/api/traces", params={"service": "frontend", "limit": 100})
            data: list[dict[str, Any]] = resp.json()["data"]
            # Every span the demo exported, the driver's UDP ones included (they may come last).
            return data if sum(len(t["spans"]) for t in data) == exported else None

        traces = [_Trace(t) for t in await _poll(f"all {exported} spans", frontend_traces)]
        assert len(traces) == count

        full = [t for t in traces if set(t.service.values()) == SERVICES]
        assert len(full) == count - 2
        for t in traces:
            (root,) = [s for s in t.data["spans"] if t.parent(s) is None]
            assert (t.service[root["spanID"]], root["operationName"]) == ("frontend", "HTTP GET /dispatch")
            for span in t.data["spans"]:
                if span is not root:
                    assert t.parent(span) is not None, span  # every parent is in the trace
            for service, path in (("customer", "/customer"), ("driver", "/drivers"), ("route", "/route")):
                for server in t.find(service, f"HTTP GET {path}"):
                    # Each hop: the callee's SERVER span is a child of the frontend's CLIENT span.
                    caller = t.parent(server)
                    assert caller is not None
                    assert t.service[caller["spanID"]] == "frontend"
                    assert _tags(caller)["span.kind"] == "client"
                    assert caller["operationName"] == f"HTTP GET {path}"
                    assert _tags(server)["span.kind"] == "server"
            for select in t.find("customer", "SELECT"):
                tags = _tags(select)
                assert tags["db.system"] == "mysql" and tags["peer.service"] == "mysql"
                assert tags["db.statement"].startswith("SELECT * FROM customer WHERE customer_id =")
                assert t.service[t.parent(select)["spanID"]] == "customer"  # type: ignore[index]

        sample = full[0]
        (driver_server,) = sample.find("driver", "HTTP GET /drivers")
        driver_spans = [s for s in sample.data["spans"] if sample.service[s["spanID"]] == "driver"]
        assert {s["operationName"] for s in driver_spans} >= {"FindDriverIDs", "GetDriver"}
        for span in driver_spans:
            if span is not driver_server:
                assert sample.parent(span) is driver_server
            assert sample.data["processes"][span["processID"]]["serviceName"] == "driver"
        process = sample.data["processes"][driver_server["processID"]]
        assert {t["key"]: t["value"] for t in process["tags"]}["demo.reporting"] == "jaeger-thrift-udp"
        received = _spans_received(app, "driver")
        assert received.get("udp", 0) > 0 and set(received) == {"udp"}, received

        failed = [t for t in traces if _is_failed(t.data)]
        assert len(failed) == 2
        for t in failed:
            (root,) = t.find("frontend", "HTTP GET /dispatch")
            assert _tags(root)["http.status_code"] == 502 and _tags(root)["error"] is True
            assert _tags(root)["customer.id"] == "999"
            (customer_server,) = t.find("customer", "HTTP GET /customer")
            assert _tags(customer_server)["error"] is True
            assert [f["value"] for f in customer_server["logs"][0]["fields"] if f["key"] == "event"] == [
                "exception"
            ]

        resp = await http.get(
            "/api/traces", params={"service": "frontend", "tags": json.dumps({"customer.id": "104"})}
        )
        found = [_Trace(t) for t in resp.json()["data"]]
        assert len(found) == 4  # requests 0, 6, 8 and 14 of the cycle
        for t in found:
            (root,) = t.find("frontend", "HTTP GET /dispatch")
            assert _tags(root)["customer.id"] == "104"

        resp = await http.get("/api/traces", params={"service": "frontend", "tags": '{"error":"true"}'})
        assert {t["traceID"] for t in resp.json()["data"]} == {t.data["traceID"] for t in failed}


def _is_failed(trace: dict[str, Any]) -> bool:
    return any(
        s["operationName"] == "HTTP GET /dispatch" and _tags(s).get("http.status_code") == 502
        for s in trace["spans"]
    )


async def test_empty_agent_host_port_sends_driver_over_otlp(
    make_app: Callable[..., Any], tmp_path: Path
) -> None:
    app = await make_app()
    otlp, query, _ = _endpoints(app)
    log = await _run_demo(
        tmp_path, "--count", "2", "--rate", "50", "--otlp-endpoint", otlp, "--agent-host-port", ""
    )
    assert "Jaeger agent" not in log
    assert re.search(r"spans exported: otlp \d+, agent 0$", log, re.M), log
    async with httpx.AsyncClient(base_url=query, trust_env=False) as http:

        async def driver_traces() -> list[dict[str, Any]]:
            resp = await http.get("/api/traces", params={"service": "driver"})
            return resp.json()["data"] if resp.status_code == 200 else []

        traces = await _poll("driver traces", driver_traces)
    process = next(p for p in traces[0]["processes"].values() if p["serviceName"] == "driver")
    assert {t["key"]: t["value"] for t in process["tags"]}["demo.reporting"] == "otlp-http"
    received = _spans_received(app, "driver")
    assert "udp" not in received and sum(received.values()) > 0, received


async def test_health_then_sigterm_flushes_and_exits_0(make_app: Callable[..., Any], tmp_path: Path) -> None:
    app = await make_app()
    otlp, query, udp_port = _endpoints(app)
    proc = await _start_demo(
        tmp_path, "--rate", "20", "--otlp-endpoint", otlp, "--agent-host-port", f"127.0.0.1:{udp_port}"
    )
    assert proc.stderr is not None
    try:
        line = (await asyncio.wait_for(proc.stderr.readline(), DEMO_TIMEOUT_S)).decode()
        m = re.search(r"frontend (http://\S+) ", line)
        assert m, line
        assert "until SIGTERM/SIGINT" in line
        async with httpx.AsyncClient(trust_env=False) as http:
            resp = await http.get(m.group(1) + "/health")
            assert resp.status_code == 200

            async def stored() -> bool:
                r = await http.get(query + "/api/services")
                return set(r.json()["data"]) == SERVICES

            # Running traffic, flushed by the 1 s batch delay while it goes on.
            await _poll("all four services while running", stored)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), DEMO_TIMEOUT_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert re.search(r"stopped: \d+ requests", err.decode())


# -- without a server -----------------------------------------------------------------------------


def _sdk_spans() -> tuple[list[ReadableSpan], SpanContext]:
    """child (CLIENT, error, events, links), internal (another scope), parent (SERVER); and the
    context of a span of another trace that child links to."""
    memory = InMemorySpanExporter()
    resource = Resource.create({"service.name": "unit", "host.name": "box", "build": 7})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("unit.scope", "1.2")
    other = provider.get_tracer("bare")
    with tracer.start_as_current_span("earlier") as earlier:
        elsewhere = earlier.get_span_context()
    memory.clear()
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        linked = parent.get_span_context()
        with tracer.start_as_current_span(
            "child",
            kind=SpanKind.CLIENT,
            attributes={"s": "x", "b": True, "i": 3, "f": 1.5, "list": [1, 2]},
            links=[Link(linked, {"opentracing.ref_type": "child_of"}), Link(elsewhere)],
            record_exception=False,
            set_status_on_exception=False,
        ) as child:
            child.add_event("retry", {"attempt": 2})
            child.record_exception(TimeoutError("redis timeout"))
            child.set_status(Status(StatusCode.ERROR, "timed out"))
        with other.start_as_current_span("internal"):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans()), elsewhere


def test_span_to_model() -> None:
    sdk_spans, elsewhere = _sdk_spans()
    child_sdk, _, parent_sdk = sdk_spans
    child, internal, parent = (span_to_model(s) for s in sdk_spans)
    ctx = child_sdk.get_span_context()
    assert (child.trace_id, child.span_id) == (ctx.trace_id, ctx.span_id)
    assert child.trace_id >> 64  # all 128 bits kept
    assert child.parent_span_id == parent.span_id == parent_sdk.get_span_context().span_id
    assert child.references[0].ref_type == SpanRefType.CHILD_OF
    assert [(r.ref_type, r.trace_id, r.span_id) for r in child.references[1:]] == [
        (SpanRefType.FOLLOWS_FROM, elsewhere.trace_id, elsewhere.span_id)
    ]
    assert parent.references == []
    assert child.operation_name == "child" and child.flags == 1
    assert child.start_time == child_sdk.start_time // 1000  # type: ignore[operator]
    assert child.duration == (child_sdk.end_time - child_sdk.start_time) // 1000  # type: ignore[operator]
    tags = {t.key: (t.v_type, t.value) for t in child.tags}
    assert tags["span.kind"] == (ValueType.STRING, "client")
    assert tags["error"] == (ValueType.BOOL, True)
    assert tags["otel.status_code"] == (ValueType.STRING, "ERROR")
    assert tags["otel.status_description"] == (ValueType.STRING, "timed out")
    assert tags["b"] == (ValueType.BOOL, True) and tags["i"] == (ValueType.INT64, 3)
    assert tags["f"] == (ValueType.FLOAT64, 1.5) and tags["list"] == (ValueType.STRING, "[1,2]")
    assert tags["otel.scope.name"] == (ValueType.STRING, "unit.scope")
    assert ("span.kind", "server") in {(t.key, t.value) for t in parent.tags}
    assert ("span.kind", "internal") in {(t.key, t.value) for t in internal.tags}
    assert "error" not in {t.key for t in parent.tags}
    retry, exception = child.logs
    assert [(f.key, f.value) for f in retry.fields] == [("event", "retry"), ("attempt", 2)]
    assert exception.fields[0].value == "exception"
    assert {f.key for f in exception.fields} >= {"exception.type", "exception.message"}
    assert child.process.service_name == "unit"
    assert {t.key: t.value for t in child.process.tags}["build"] == 7
    assert internal.references[0].span_id == parent.span_id


def test_span_to_model_matches_pyjaegers_otlp_decoding() -> None:
    """The driver's spans must look the same whether they came over UDP or OTLP."""
    sdk_spans, _ = _sdk_spans()
    via_otlp = decode_export_request(encode_spans(sdk_spans).SerializeToString()).spans
    by_id = {s.span_id: s for s in via_otlp}
    for sdk_span in sdk_spans:
        mine = span_to_model(sdk_span)
        assert mine == by_id[mine.span_id]


def test_agent_exporter_keeps_datagrams_under_the_limit() -> None:
    sdk_spans, _ = _sdk_spans()
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "big"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for i in range(40):
        with tracer.start_as_current_span(f"op{i}", attributes={"payload": "x" * 300}):
            pass
    with tracer.start_as_current_span("huge", attributes={"payload": "y" * 5000}):
        pass
    spans = list(memory.get_finished_spans())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(5.0)
        exporter = AgentSpanExporter("127.0.0.1", agent.getsockname()[1], max_packet_size=2000)
        try:
            assert exporter.export(spans) == SpanExportResult.SUCCESS
            assert exporter.export(sdk_spans) == SpanExportResult.SUCCESS
            got = []
            for _ in range(exporter.datagrams):
                datagram = agent.recv(65536)
                assert len(datagram) <= 2000
                got.append(decode_agent_message(datagram))
        finally:
            exporter.shutdown()
    assert exporter.dropped == 1  # "huge" alone is above the limit
    names = [s.operation_name for batch in got for s in batch]
    assert sorted(names) == sorted([f"op{i}" for i in range(40)] + ["child", "internal", "parent"])
    assert len(got) > 2
    for batch in got:
        assert len({s.process.service_name for s in batch}) == 1


def test_options_from_flags_and_environment() -> None:
    parser = build_parser()

    def resolve(argv: list[str], env: dict[str, str]) -> Any:
        return resolve_options(parser.parse_args(["demo", *argv]), env)

    o = resolve([], {})
    assert (o.otlp_traces_url, o.agent, o.rate, o.count) == (
        "http://localhost:4318/v1/traces",
        ("localhost", 6831),
        1.0,
        0,
    )
    assert (o.listen_host, o.ports.frontend, o.ports.route) == ("127.0.0.1", 8080, 8083)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "JAEGER_AGENT_HOST": "agent"}
    o = resolve([], {**env, "JAEGER_AGENT_PORT": "7000"})
    assert (o.otlp_traces_url, o.agent) == ("http://collector:4318/v1/traces", ("agent", 7000))
    o = resolve(["--otlp-endpoint", "http://x:1", "--agent-host-port", "[::1]:9"], env)
    assert (o.otlp_traces_url, o.agent) == ("http://x:1/v1/traces", ("::1", 9))
    assert resolve(["--agent-host-port", ""], env).agent is None
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--rate", "0"])


def test_server_never_imports_the_sdk(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "import pyjaeger.cmd.app, pyjaeger.cmd.cli\n"
        "pyjaeger.cmd.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.trace',"
        " 'opentelemetry.exporter')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, timeout=60)


def test_missing_sdk_exits_2_with_a_hint(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None  # as if pyjaeger[demo] were not installed\n"
        "from pyjaeger.cmd.cli import main\n"
        "sys.exit(main(['demo', '--count', '1']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert "pyjaeger[demo]" in proc.stderr
