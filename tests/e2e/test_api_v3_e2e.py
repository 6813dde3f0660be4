"""api_v3 end to end: the real OpenTelemetry SDK exports over OTLP to pyjaeger on each storage
backend, and `/api/v3/traces/{id}` serves back what was exported.

tests/clients/otel_v3_roundtrip.py prints the OTLP requests its exporters sent (the SDK's own
encoding, as OTLP/JSON). Here each request is turned into what api_v3 must serve for it, given
what the Jaeger model keeps (jaeger-contracts.md §5.1, §5.2), and compared field by field with the
served trace: ids, names, kinds, status, trace state, every attribute type, events, links,
resources and scopes. What the model drops is listed in `expected_span`; nothing else may differ.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pyjaeger.gotext.json import marshal

pytestmark = pytest.mark.e2e

ROOT, CLIENT, HANDLE, COMPUTE, PUBLISH, CONSUME = (
    "GET /v3",
    "call backend",
    "handle",
    "compute",
    "publish",
    "consume",
)
# backend -> the OTLP transport its client uses (both are covered; each backend once)
BACKENDS = {"memory": "http", "sqlite": "grpc", "elasticsearch": "grpc"}

View = dict[str, Any]


@dataclass
class RoundTrip:
    backend: str
    server: Any  # conftest.PyjaegerServer
    out: dict[str, Any]  # what otel_v3_roundtrip.py printed

    def __repr__(self) -> str:
        return f"<RoundTrip {self.backend} {self.trace_id}>"

    @property
    def trace_id(self) -> str:
        return str(self.out["trace_id"])

    @property
    def sent_spans(self) -> list[dict[str, Any]]:
        return [
            sp
            for req in self.out["requests"]
            for rs in req["resourceSpans"]
            for ss in rs["scopeSpans"]
            for sp in ss["spans"]
        ]

    def sent(self, name: str) -> dict[str, Any]:
        (span,) = [sp for sp in self.sent_spans if sp["name"] == name]
        return span

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.server.http.get(self.server.query_url + path, params=params)

    def trace(self, **params: str) -> dict[str, Any]:
        r = self.get(f"/api/v3/traces/{self.trace_id}", **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert set(body) == {"result"}
        result: dict[str, Any] = body["result"]
        return result

    def window(self) -> dict[str, str]:
        start_s = min(int(sp["startTimeUnixNano"]) for sp in self.sent_spans) // 1_000_000_000
        return {
            "query.startTimeMin": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s - 3600)),
            "query.startTimeMax": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s + 3600)),
        }


def served_spans(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [sp for rs in result.get("resourceSpans", []) for ss in rs["scopeSpans"] for sp in ss["spans"]]


def wait_for_spans(server: Any, trace_id: str, n: int, timeout: float = 30.0) -> None:
    """Writes are asynchronous (and Elasticsearch refreshes about once a second)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        r = server.http.get(f"{server.query_url}/api/v3/traces/{trace_id}")
        if r.status_code == 200 and len(served_spans(r.json()["result"])) >= n:
            return
        last = f"{r.status_code} {r.text[:200]}"
        time.sleep(0.2)
    raise AssertionError(f"trace {trace_id} did not reach {n} spans in {timeout}s: {last}")


def delete_indices(url: str, prefix: str) -> None:
    with httpx.Client(base_url=url, timeout=30.0) as es:
        names = [
            row["index"] for row in es.get(f"/_cat/indices/{prefix}-*", params={"format": "json"}).json()
        ]
        for name in names:
            es.delete(f"/{name}")
        es.delete(f"/_index_template/{prefix}-*")


@pytest.fixture(scope="module", params=list(BACKENDS))
def roundtrip(
    request: pytest.FixtureRequest,
    pyjaeger_launcher: Any,
    otel_python: Any,
    run_client: Callable[..., dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RoundTrip]:
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"v3-{backend}")
    args: dict[str, str] = {"--span-storage.type": backend}
    es_url = prefix = ""
    if backend == "sqlite":
        args["--sqlite.path"] = str(tmp / "traces.db")
    elif backend == "elasticsearch":
        es_url = str(request.getfixturevalue("elasticsearch").url)
        prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
        args |= {
            "--es.server-urls": es_url,
            "--es.index-prefix": prefix,
            "--es.num-shards": "1",
            "--es.num-replicas": "0",
        }
    try:
        with pyjaeger_launcher(f"v3-{backend}", tmp, args) as server:
            protocol = BACKENDS[backend]
            endpoint = server.otlp_grpc_endpoint if protocol == "grpc" else server.otlp_http_url
            service = f"v3-{backend}"
            out = run_client(
                otel_python,
                "otel_v3_roundtrip.py",
                "--protocol",
                protocol,
                "--endpoint",
                endpoint,
                "--service",
                service,
            )
            trip = RoundTrip(backend, server, out)
            wait_for_spans(server, trip.trace_id, len(trip.sent_spans))
            yield trip
    finally:
        if prefix:
            delete_indices(es_url, prefix)


# --- what the Jaeger model keeps of an exported span ----------------------------------------------


def truncated(ns: str) -> int:
    return int(ns) // 1000 * 1000


def raw_value(v: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as the Go value pcommon's AsRaw gives."""
    if "arrayValue" in v:
        return [raw_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: raw_value(kv["value"]) for kv in v["kvlistValue"].get("values", [])}
    if "intValue" in v:
        return int(v["intValue"])
    if "bytesValue" in v:
        import base64

        return base64.b64decode(v["bytesValue"])
    ((_, value),) = v.items()
    return value


def expected_value(v: dict[str, Any]) -> dict[str, Any]:
    """Arrays and kvlists are stored as the JSON text Go's json.Marshal writes (§5.1)."""
    if "arrayValue" in v or "kvlistValue" in v:
        return {"stringValue": marshal(raw_value(v))}
    return v


def attributes(items: list[dict[str, Any]], value: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Any]:
    return [(a["key"], value(a["value"])) for a in items]


def expected_span(sp: dict[str, Any]) -> View:
    """What api_v3 serves for an exported span. The Jaeger model drops: nanoseconds below the µs
    (start, and end as start + duration), trace flags but the sampled bit, dropped counts, link
    attributes other than `opentracing.ref_type` (which it adds: `follows_from` unless the link
    said `child_of`) and link trace state/flags; arrays and kvlists become JSON strings."""
    start, end = int(sp["startTimeUnixNano"]), int(sp["endTimeUnixNano"])
    out: View = {
        k: sp[k] for k in ("traceId", "spanId", "parentSpanId", "traceState", "name", "kind") if k in sp
    }
    out["startTimeUnixNano"] = str(start // 1000 * 1000)
    out["endTimeUnixNano"] = str((start // 1000 + (end - start) // 1000) * 1000)
    out["attributes"] = attributes(sp.get("attributes", []), expected_value)
    out["events"] = [
        {
            "timeUnixNano": str(truncated(ev["timeUnixNano"])),
            "name": ev.get("name", ""),
            "attributes": attributes(ev.get("attributes", []), expected_value),
        }
        for ev in sp.get("events", [])
    ]
    links = []
    for link in sp.get("links", []):
        said = {a["key"]: a["value"].get("stringValue") for a in link.get("attributes", [])}
        ref_type = "child_of" if said.get("opentracing.ref_type") == "child_of" else "follows_from"
        links.append(
            {
                "traceId": link["traceId"],
                "spanId": link["spanId"],
                "attributes": [("opentracing.ref_type", {"stringValue": ref_type})],
            }
        )
    out["links"] = links
    out["status"] = sp.get("status", {})
    return out


def served_span(sp: dict[str, Any]) -> View:
    assert sp.get("flags") == 1, sp  # the sampled bit: all the model keeps of the flags
    out: View = {
        k: sp[k] for k in ("traceId", "spanId", "parentSpanId", "traceState", "name", "kind") if k in sp
    }
    out["startTimeUnixNano"] = sp["startTimeUnixNano"]
    out["endTimeUnixNano"] = sp["endTimeUnixNano"]
    out["attributes"] = attributes(sp.get("attributes", []), lambda v: v)
    out["events"] = [
        {
            "timeUnixNano": ev["timeUnixNano"],
            "name": ev.get("name", ""),
            "attributes": attributes(ev.get("attributes", []), lambda v: v),
        }
        for ev in sp.get("events", [])
    ]
    out["links"] = [
        {
            "traceId": link["traceId"],
            "spanId": link["spanId"],
            "attributes": attributes(link.get("attributes", []), lambda v: v),
        }
        for link in sp.get("links", [])
    ]
    out["status"] = sp["status"]
    return out


def view(
    resource_spans: list[dict[str, Any]], span_view: Callable[[dict[str, Any]], View], ordered: bool
) -> View:
    """{service: {"resource": {key: value}, "scopes": {(name, version): {span id: span}}}}; with
    `ordered` False, attribute lists are compared as sets (adjusters sort them)."""
    value = expected_value if span_view is expected_span else (lambda v: v)
    out: View = {}
    for rs in resource_spans:
        resource = dict(attributes(rs["resource"].get("attributes", []), value))
        service = resource["service.name"]["stringValue"]
        entry = out.setdefault(service, {"resource": resource, "scopes": {}})
        assert entry["resource"] == resource
        for ss in rs.get("scopeSpans", []):
            scope = ss["scope"]
            assert set(scope) <= {"name", "version"}, scope  # scope attributes are not kept
            spans = entry["scopes"].setdefault((scope.get("name", ""), scope.get("version", "")), {})
            for sp in ss.get("spans", []):
                v = span_view(sp)
                if not ordered:
                    v["attributes"] = sorted(v["attributes"], key=repr)
                    for ev in v["events"]:
                        ev["attributes"] = sorted(ev["attributes"], key=repr)
                spans[sp["spanId"]] = v
    return out


def exported_view(trip: RoundTrip, ordered: bool) -> View:
    return view([rs for req in trip.out["requests"] for rs in req["resourceSpans"]], expected_span, ordered)


# --- the round trip -------------------------------------------------------------------------------


def test_raw_trace_equals_what_was_exported(roundtrip: RoundTrip) -> None:
    """rawTraces=true: the stored spans unadjusted, attributes in the order they were sent."""
    result = roundtrip.trace(rawTraces="true")
    assert view(result["resourceSpans"], served_span, ordered=True) == exported_view(roundtrip, ordered=True)


def test_adjusted_trace_equals_what_was_exported(roundtrip: RoundTrip) -> None:
    """The default: Jaeger's adjusters sort attributes, and change nothing else of an OTel trace."""
    result = roundtrip.trace()
    assert view(result["resourceSpans"], served_span, ordered=False) == exported_view(
        roundtrip, ordered=False
    )
    assert len(served_spans(result)) == len(roundtrip.sent_spans) == 6


def test_every_attribute_type(roundtrip: RoundTrip) -> None:
    """Spelled out, so the comparison above cannot pass by losing the same thing on both sides."""
    (root,) = [sp for sp in served_spans(roundtrip.trace(rawTraces="true")) if sp["name"] == ROOT]
    assert root["attributes"] == [
        {"key": "e2e.str", "value": {"stringValue": "text"}},
        {"key": "e2e.empty", "value": {"stringValue": ""}},
        {"key": "e2e.bool", "value": {"boolValue": True}},
        {"key": "e2e.int", "value": {"intValue": "-42"}},
        {"key": "e2e.double", "value": {"doubleValue": 0.25}},
        {"key": "e2e.bytes", "value": {"bytesValue": "AAH/"}},
        {"key": "e2e.strings", "value": {"stringValue": '["a","b"]'}},
        {"key": "e2e.ints", "value": {"stringValue": "[1,2,3]"}},
        {"key": "e2e.doubles", "value": {"stringValue": "[0.5,1.5]"}},
        {"key": "e2e.bools", "value": {"stringValue": "[true,false]"}},
        {"key": "e2e.map", "value": {"stringValue": '{"k":"v","n":[1,2]}'}},
    ]
    assert root["kind"] == 2 and root["status"] == {"code": 1} and root["traceState"] == "vendor=v3"
    assert "parentSpanId" not in root
    (client,) = [sp for sp in served_spans(roundtrip.trace()) if sp["name"] == CLIENT]
    assert client["status"] == {"message": "boom", "code": 2}
    assert client["parentSpanId"] == roundtrip.sent(ROOT)["spanId"]
    assert [ev["name"] for ev in client["events"]] == ["cache miss", "retry"]
    assert client["events"][0]["attributes"] == [
        {"key": "hit", "value": {"boolValue": False}},
        {"key": "keys", "value": {"stringValue": '["x"]'}},
        {"key": "n", "value": {"intValue": "1"}},
        {"key": "ratio", "value": {"doubleValue": 0.125}},
        {"key": "raw", "value": {"bytesValue": "Ag=="}},
        {"key": "who", "value": {"stringValue": "cache"}},
    ]
    assert "attributes" not in client["events"][1]


def test_resources_scopes_kinds_and_links(roundtrip: RoundTrip) -> None:
    result = roundtrip.trace()
    front, back = roundtrip.out["services"]
    services = {}
    for rs in result["resourceSpans"]:
        attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
        services[attrs["service.name"]["stringValue"]] = attrs
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                assert sp["traceId"] == roundtrip.trace_id and len(sp["spanId"]) == 16
    assert set(services) == {front, back}
    assert services[front]["e2e.resource.int"] == {"intValue": "7"}
    assert services[front]["e2e.resource.bool"] == {"boolValue": True}
    assert services[front]["e2e.resource.double"] == {"doubleValue": 0.5}
    assert services[front]["e2e.resource.list"] == {"stringValue": '["x","y"]'}
    assert services[front]["telemetry.sdk.language"] == {"stringValue": "python"}
    scopes = {
        sp["name"]: ss["scope"]
        for rs in result["resourceSpans"]
        for ss in rs["scopeSpans"]
        for sp in ss["spans"]
    }
    assert scopes[ROOT] == {"name": "pyjaeger-v3", "version": "2.0.0"}
    assert scopes[COMPUTE] == {"name": "pyjaeger-v3-db"}
    kinds = {sp["name"]: sp["kind"] for sp in served_spans(result)}
    assert kinds == {ROOT: 2, CLIENT: 3, HANDLE: 2, COMPUTE: 1, PUBLISH: 4, CONSUME: 5}
    (compute,) = [sp for sp in served_spans(result) if sp["name"] == COMPUTE]
    assert "traceState" not in compute
    assert compute["links"] == [
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "attributes": [{"key": "opentracing.ref_type", "value": {"stringValue": "child_of"}}],
        },
        {
            "traceId": roundtrip.trace_id,
            "spanId": roundtrip.sent(ROOT)["spanId"],
            "attributes": [{"key": "opentracing.ref_type", "value": {"stringValue": "follows_from"}}],
        },
    ]


# --- search, summaries, services ------------------------------------------------------------------


def test_trace_summary(roundtrip: RoundTrip) -> None:
    front, back = roundtrip.out["services"]
    r = roundtrip.get("/api/v3/trace-summaries", **{"query.serviceName": front, **roundtrip.window()})
    assert r.status_code == 200, r.text
    starts = [truncated(sp["startTimeUnixNano"]) for sp in roundtrip.sent_spans]
    ends = [int(expected_span(sp)["endTimeUnixNano"]) for sp in roundtrip.sent_spans]
    assert r.json() == {
        "summaries": [
            {
                "traceId": roundtrip.trace_id,
                "rootServiceName": front,
                "rootOperationName": ROOT,
                "minStartTimeUnixNano": str(min(starts)),
                "maxEndTimeUnixNano": str(max(ends)),
                "spanCount": 6,
                "errorSpanCount": 1,
                "orphanSpanCount": 0,
                "services": [
                    {"name": front, "spanCount": 4, "errorSpanCount": 1},
                    {"name": back, "spanCount": 2, "errorSpanCount": 0},
                ],
            }
        ]
    }


def test_find_traces_by_attributes(roundtrip: RoundTrip) -> None:
    front, back = roundtrip.out["services"]
    window = roundtrip.window()
    r = roundtrip.get(
        "/api/v3/traces",
        **{"query.serviceName": back, "query.attributes": '{"http.response.status_code":"500"}', **window},
    )
    assert r.status_code == 200, r.text
    assert {sp["traceId"] for sp in served_spans(r.json()["result"])} == {roundtrip.trace_id}
    assert len(served_spans(r.json()["result"])) == 6  # whole traces, not the matching spans
    r = roundtrip.get(
        "/api/v3/traces", **{"query.serviceName": front, "query.attributes": '{"e2e.str":"other"}', **window}
    )
    assert r.status_code == 404 and r.json() == {"error": {"httpCode": 404, "message": "No traces found"}}


def test_services_and_operations(roundtrip: RoundTrip) -> None:
    front, back = roundtrip.out["services"]
    r = roundtrip.get("/api/v3/services")
    assert r.status_code == 200 and set(r.json()["services"]) >= {front, back}
    r = roundtrip.get("/api/v3/operations", service=back)
    assert r.status_code == 200, r.text
    ops = sorted((op["name"], op["spanKind"]) for op in r.json()["operations"])
    if roundtrip.backend == "elasticsearch":
        # Jaeger's Elasticsearch schema stores no span kind with an operation (jaeger#1923)
        assert ops == [(CONSUME, "internal"), (HANDLE, "internal")]
    else:
        assert ops == [(CONSUME, "consumer"), (HANDLE, "server")]
