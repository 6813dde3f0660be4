"""Jaeger api_v2 `SamplingManager` messages ⇄ dicts (gRPC on the collector's 14250).

Responses travel as dicts shaped like Jaeger's proto-JSON (camelCase keys, strategyType by name),
which is also what the agent serves over HTTP, so this module needs no strategy model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyjaeger.codecs.errors import parse_protobuf
from pyjaeger.idl.api_v2 import sampling_pb2

__all__ = [
    "SAMPLING_SERVICE",
    "GET_SAMPLING_STRATEGY_METHOD",
    "STRATEGY_TYPES",
    "decode_sampling_request",
    "encode_sampling_request",
    "decode_sampling_response",
    "encode_sampling_response",
]

SAMPLING_SERVICE = "jaeger.api_v2.SamplingManager"
GET_SAMPLING_STRATEGY_METHOD = f"/{SAMPLING_SERVICE}/GetSamplingStrategy"
# Indexed by the SamplingStrategyType number.
STRATEGY_TYPES = ("PROBABILISTIC", "RATE_LIMITING")


def decode_sampling_request(data: bytes) -> str:
    """SamplingStrategyParameters bytes → the service name asked about."""
    req = parse_protobuf(sampling_pb2.SamplingStrategyParameters(), data)
    return req.serviceName


def encode_sampling_request(service: str) -> bytes:
    """The SamplingStrategyParameters bytes the agent sends to a collector."""
    return sampling_pb2.SamplingStrategyParameters(serviceName=service).SerializeToString()


def encode_sampling_response(d: Mapping[str, Any]) -> bytes:
    """A proto-JSON-shaped response dict → SamplingStrategyResponse bytes.

    `strategyType` may be a name or its number (legacy Thrift JSON), and defaults to
    PROBABILISTIC. A key set to None counts as absent. An unknown key or a value protobuf refuses
    raises ValueError naming the field: the dict is ours, so that is a bug, not bad input.
    """
    resp = sampling_pb2.SamplingStrategyResponse()
    _check_keys(d, _RESPONSE_KEYS, "")
    st = d.get("strategyType")
    if st is not None:
        if isinstance(st, str) and st in STRATEGY_TYPES:
            st = STRATEGY_TYPES.index(st)
        if type(st) is not int:
            raise ValueError(f"sampling response strategyType: {st!r} is not a strategy type")
        _set(resp, "strategyType", st, "")
    p = d.get("probabilisticSampling")
    if p is not None:
        _one_field(resp.probabilisticSampling, p, "samplingRate", "probabilisticSampling.")
    r = d.get("rateLimitingSampling")
    if r is not None:
        _one_field(resp.rateLimitingSampling, r, "maxTracesPerSecond", "rateLimitingSampling.")
    ops = d.get("operationSampling")
    if ops is not None:
        path = "operationSampling."
        _check_keys(ops, _PER_OPERATION_KEYS, path)
        o = resp.operationSampling
        o.SetInParent()
        for name in _PER_OPERATION_KEYS[:3]:
            _set(o, name, ops.get(name), path)
        for i, entry in enumerate(ops.get("perOperationStrategies") or ()):
            epath = f"{path}perOperationStrategies[{i}]."
            _check_keys(entry, ("operation", "probabilisticSampling"), epath)
            e = o.perOperationStrategies.add()
            _set(e, "operation", entry.get("operation"), epath)
            ep = entry.get("probabilisticSampling")
            if ep is not None:
                _one_field(e.probabilisticSampling, ep, "samplingRate", epath + "probabilisticSampling.")
    return resp.SerializeToString()


_RESPONSE_KEYS = ("strategyType", "probabilisticSampling", "rateLimitingSampling", "operationSampling")
_PER_OPERATION_KEYS = (
    "defaultSamplingProbability",
    "defaultLowerBoundTracesPerSecond",
    "defaultUpperBoundTracesPerSecond",
    "perOperationStrategies",
)


def _check_keys(d: Any, allowed: tuple[str, ...], path: str) -> None:
    if not isinstance(d, Mapping):
        raise ValueError(f"sampling response {path.rstrip('.') or 'root'}: expected an object, got {d!r}")
    for key in d:
        if key not in allowed:
            raise ValueError(f"sampling response: unknown field {path}{key}")


def _one_field(o: Any, d: Any, name: str, path: str) -> None:
    """Fill a one-field strategy message, marking it present even when the value is 0."""
    _check_keys(d, (name,), path)
    o.SetInParent()
    _set(o, name, d.get(name), path)


def _set(o: Any, name: str, value: Any, path: str) -> None:
    if value is None:
        return
    try:
        setattr(o, name, value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"sampling response {path}{name}: {value!r}: {e}") from None


def decode_sampling_response(data: bytes) -> dict[str, Any]:
    """SamplingStrategyResponse bytes → the dict `encode_sampling_response` takes.

    Shaped like Jaeger's JSON: strategyType always (its number when unknown), each strategy only
    when present, and inside operationSampling every field, zeros included.
    """
    resp = parse_protobuf(sampling_pb2.SamplingStrategyResponse(), data)
    st = resp.strategyType
    out: dict[str, Any] = {"strategyType": STRATEGY_TYPES[st] if 0 <= st < len(STRATEGY_TYPES) else int(st)}
    if resp.HasField("probabilisticSampling"):
        out["probabilisticSampling"] = {"samplingRate": resp.probabilisticSampling.samplingRate}
    if resp.HasField("rateLimitingSampling"):
        out["rateLimitingSampling"] = {"maxTracesPerSecond": resp.rateLimitingSampling.maxTracesPerSecond}
    if resp.HasField("operationSampling"):
        o = resp.operationSampling
        per_op: list[dict[str, Any]] = []
        for op in o.perOperationStrategies:
            entry: dict[str, Any] = {"operation": op.operation}
            if op.HasField("probabilisticSampling"):
                entry["probabilisticSampling"] = {"samplingRate": op.probabilisticSampling.samplingRate}
            per_op.append(entry)
        out["operationSampling"] = {
            "defaultSamplingProbability": o.defaultSamplingProbability,
            "defaultLowerBoundTracesPerSecond": o.defaultLowerBoundTracesPerSecond,
            "perOperationStrategies": per_op,
            "defaultUpperBoundTracesPerSecond": o.defaultUpperBoundTracesPerSecond,
        }
    return out
