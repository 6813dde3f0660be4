"""Sampling strategies end to end: a strategies file in, Jaeger's sampling endpoints out.

An all-in-one runs with ``--sampling.strategies-file`` (STRATEGIES below) and answers on:

- the agent's HTTP port (5778): ``/sampling`` (proto-JSON, string enum), legacy ``/`` (Thrift
  JSON, integer enum) and ``/baggageRestrictions``;
- the collector's HTTP port (14268): ``/api/sampling``;
- the collector's gRPC port (14250): ``jaeger.api_v2.SamplingManager/GetSamplingStrategy``.

Expected bodies are what Jaeger v1 writes for the same file (shared/reference/jaeger-contracts.md
§1.4, §1.7, §1.8): jsonpb with EmitDefaults and the null siblings cut out, so a per-operation
block carries ``defaultLowerBoundTracesPerSecond: 0`` and ``defaultUpperBoundTracesPerSecond: 0``
(the legacy endpoint too: Jaeger's proto → Thrift conversion always sets the upper bound).
Then the real Python jaeger-client polls 5778 with its remote sampler, and the strategy it
adopted shows in the ``sampler.type``/``sampler.param`` tags of the root span pyjaeger stores.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from pyjaeger.idl.api_v2 import sampling_pb2  # Jaeger's IDL, only to read gRPC answers

pytestmark = pytest.mark.e2e

BAD_SERVICE = "'service' parameter must be provided once"

STRATEGIES: dict[str, Any] = {
    "service_strategies": [
        {
            "service": "svc-a",
            "type": "probabilistic",
            "param": 1.0,
            "operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0.1}],
        },
        {"service": "svc-b", "type": "ratelimiting", "param": 3},
    ],
    "default_strategy": {"type": "ratelimiting", "param": 5},
}

# Byte for byte what Jaeger's SamplingStrategyResponseToJSON writes for STRATEGIES.
PROTO_JSON_TEXT = {
    "svc-a": (
        '{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1},'
        '"operationSampling":{"defaultSamplingProbability":1,"defaultLowerBoundTracesPerSecond":0,'
        '"perOperationStrategies":[{"operation":"/health","probabilisticSampling":{"samplingRate":0.1}}],'
        '"defaultUpperBoundTracesPerSecond":0}}'
    ),
    "svc-b": '{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":3}}',
    "other": '{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":5}}',
}
PROTO_JSON = {service: json.loads(text) for service, text in PROTO_JSON_TEXT.items()}
# The legacy endpoint: the same content with the enum as its number (0.9.2 Thrift clients).
LEGACY_JSON = {
    service: {**body, "strategyType": {"PROBABILISTIC": 0, "RATE_LIMITING": 1}[body["strategyType"]]}
    for service, body in PROTO_JSON.items()
}


def write_strategies(path: Path, strategies: dict[str, Any]) -> None:
    """Replace the file atomically, so a reloading server never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(strategies, indent=2))
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def sampling_server(pyjaeger_launcher: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("sampling")
    path = tmp / "strategies.json"
    write_strategies(path, STRATEGIES)
    with pyjaeger_launcher("sampling", tmp, {"--sampling.strategies-file": str(path)}) as server:
        yield server


def get(url: str, params: Any) -> httpx.Response:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        return client.get(url, params=params)


def json_body(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0].strip() == "application/json"
    return resp.json()


# -- agent 5778 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["svc-a", "svc-b", "other"])
def test_agent_sampling(sampling_server: Any, service: str) -> None:
    resp = get(sampling_server.agent_http_url + "/sampling", {"service": service})
    assert json_body(resp) == PROTO_JSON[service]


@pytest.mark.parametrize("service", ["svc-a", "svc-b", "other"])
def test_agent_sampling_bytes_as_jaeger_writes_them(sampling_server: Any, service: str) -> None:
    resp = get(sampling_server.agent_http_url + "/sampling", {"service": service})
    assert resp.text == PROTO_JSON_TEXT[service]


@pytest.mark.parametrize("service", ["svc-a", "svc-b", "other"])
def test_agent_legacy_sampling_integer_enum(sampling_server: Any, service: str) -> None:
    resp = get(sampling_server.agent_http_url + "/", {"service": service})
    body = json_body(resp)
    assert body == LEGACY_JSON[service]
    assert type(body["strategyType"]) is int


def test_agent_baggage_restrictions(sampling_server: Any) -> None:
    # Jaeger's gRPC-proxied agent answers 500 "baggage not implemented"; pyjaeger has no
    # restrictions to hand out and says so: an empty list, which clients take as "no limits".
    resp = get(sampling_server.agent_http_url + "/baggageRestrictions", {"service": "svc-a"})
    assert json_body(resp) == []


@pytest.mark.parametrize("path", ["/sampling", "/", "/baggageRestrictions"])
@pytest.mark.parametrize(
    "params",
    [{}, [("service", "svc-a"), ("service", "svc-b")], [("service", "svc-a"), ("service", "svc-a")]],
    ids=["missing", "twice", "same-twice"],
)
def test_agent_service_param_must_be_given_once(sampling_server: Any, path: str, params: Any) -> None:
    resp = get(sampling_server.agent_http_url + path, params)
    assert resp.status_code == 400, resp.text
    assert resp.text.strip() == BAD_SERVICE


# -- collector 14268 and 14250 ------------------------------------------------------------------


@pytest.mark.parametrize("service", ["svc-a", "svc-b", "other"])
def test_collector_http_sampling(sampling_server: Any, service: str) -> None:
    resp = get(sampling_server.collector_http_url + "/api/sampling", {"service": service})
    assert json_body(resp) == PROTO_JSON[service]
    assert resp.text == PROTO_JSON_TEXT[service]


@pytest.mark.parametrize(
    "params", [{}, [("service", "svc-a"), ("service", "svc-b")]], ids=["missing", "twice"]
)
def test_collector_http_service_param_must_be_given_once(sampling_server: Any, params: Any) -> None:
    resp = get(sampling_server.collector_http_url + "/api/sampling", params)
    assert resp.status_code == 400, resp.text
    assert resp.text.strip() == BAD_SERVICE


def _grpc_strategy(endpoint: str, service: str) -> Any:
    """Call SamplingManager/GetSamplingStrategy with a hand-encoded request."""
    name = service.encode()
    request = b"\x0a" + bytes([len(name)]) + name  # SamplingStrategyParameters{serviceName=1}
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary("/jaeger.api_v2.SamplingManager/GetSamplingStrategy")
        raw = call(request, timeout=5.0)
    return sampling_pb2.SamplingStrategyResponse.FromString(raw)


@pytest.mark.parametrize("service", ["svc-a", "svc-b", "other"])
def test_collector_grpc_sampling(sampling_server: Any, service: str) -> None:
    resp = _grpc_strategy(sampling_server.collector_grpc_endpoint, service)
    as_json = json_format.MessageToDict(resp, preserving_proto_field_name=False)
    expected = json.loads(PROTO_JSON_TEXT[service])
    # proto3 JSON leaves out zero values, Jaeger's EmitDefaults prints them: compare without.
    if "operationSampling" in expected:
        for key in ("defaultLowerBoundTracesPerSecond", "defaultUpperBoundTracesPerSecond"):
            if expected["operationSampling"][key] == 0:
                del expected["operationSampling"][key]
    if expected["strategyType"] == "PROBABILISTIC":
        as_json.setdefault("strategyType", "PROBABILISTIC")  # the zero enum value
    assert as_json == expected


# -- defaults without a file ---------------------------------------------------------------------


@pytest.mark.parametrize("probability", [None, "0.5"], ids=["default-0.001", "flag-0.5"])
def test_default_probability_without_file(
    pyjaeger_launcher: Any, tmp_path: Path, probability: str | None
) -> None:
    extra = {"--sampling.default-sampling-probability": probability} if probability else {}
    with pyjaeger_launcher("sampling-default", tmp_path, extra) as server:
        rate = 0.001 if probability is None else 0.5
        expected = {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": rate}}
        for url in (server.agent_http_url + "/sampling", server.collector_http_url + "/api/sampling"):
            assert json_body(get(url, {"service": "anything"})) == expected
        legacy = json_body(get(server.agent_http_url + "/", {"service": "anything"}))
        assert legacy == {**expected, "strategyType": 0}


# -- a real client's remote sampler ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "sampler_class", "sampler_type", "param"),
    [("svc-a", "AdaptiveSampler", "probabilistic", 1), ("svc-b", "RateLimitingSampler", "ratelimiting", 3)],
)
def test_jaeger_client_remote_sampler(
    sampling_server: Any,
    jaeger_python: Any,
    run_client: Callable[..., dict[str, Any]],
    wait_for_trace: Callable[..., dict[str, Any]],
    service: str,
    sampler_class: str,
    sampler_type: str,
    param: int,
) -> None:
    host, port = sampling_server.udp_address("agent_compact")
    out = run_client(
        jaeger_python,
        "jaeger_client_send.py",
        "--agent",
        f"{host}:{port}",
        "--service",
        service,
        "--sampler",
        "remote",
        "--sampling-port",
        str(sampling_server.ports["agent_http"]),
    )
    # The client parsed our answer: a per-operation block makes jaeger-client build an
    # AdaptiveSampler, a rate limit a RateLimitingSampler (its start is probabilistic 0.001).
    assert out["adopted_sampler"]["class"] == sampler_class
    trace = wait_for_trace(sampling_server, out["trace_id"], 3)
    root = next(s for s in trace["spans"] if s["operationName"] == "GET /py")
    tags = {kv["key"]: (kv["type"], kv["value"]) for kv in root["tags"]}
    assert tags["sampler.type"] == ("string", sampler_type)
    sent_param = next(t for t in out["spans"]["GET /py"]["tags"] if t[0] == "sampler.param")
    assert tags["sampler.param"] == (sent_param[1], param)
    assert sent_param[1] in ("int64", "float64")


# -- reload --------------------------------------------------------------------------------------


def test_strategies_file_reload(pyjaeger_launcher: Any, tmp_path: Path) -> None:
    path = tmp_path / "strategies.json"
    write_strategies(path, STRATEGIES)
    extra = {"--sampling.strategies-file": str(path), "--sampling.strategies-reload-interval": "100ms"}
    with pyjaeger_launcher("sampling-reload", tmp_path, extra) as server:
        url = server.agent_http_url + "/sampling"
        assert json_body(get(url, {"service": "svc-b"})) == PROTO_JSON["svc-b"]
        changed = json.loads(json.dumps(STRATEGIES))
        changed["service_strategies"][1] = {"service": "svc-b", "type": "probabilistic", "param": 0.25}
        changed["default_strategy"] = {"type": "probabilistic", "param": 0.5}
        write_strategies(path, changed)
        new_b = {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": 0.25}}
        deadline = time.monotonic() + 5.0
        while (body := json_body(get(url, {"service": "svc-b"}))) != new_b:
            assert time.monotonic() < deadline, f"still {body} 5 s after the file changed"
            time.sleep(0.05)
        other = {"strategyType": "PROBABILISTIC", "probabilisticSampling": {"samplingRate": 0.5}}
        assert json_body(get(url, {"service": "other"})) == other
        assert json_body(get(server.collector_http_url + "/api/sampling", {"service": "svc-b"})) == new_b
        # A broken file keeps the last good strategies (Jaeger logs the error and carries on).
        path.write_text("{not json")
        time.sleep(0.5)
        assert json_body(get(url, {"service": "svc-b"})) == new_b
        assert server.alive()
