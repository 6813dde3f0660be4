"""Sampling strategies rendered as the JSON Jaeger serves, byte for byte, and read back.

Two shapes exist (contracts §1.4, §1.7):

- proto-JSON (`GET /sampling` on the agent, `GET /api/sampling` on the collector): Jaeger runs
  gogo `jsonpb` with `EmitDefaults` so `"strategyType":"PROBABILISTIC"` (enum value 0) is
  printed, then strips the top-level sub-messages that came out `null`. Every field of a present
  sub-message is therefore printed, zeros included (`defaultUpperBoundTracesPerSecond:0`).
- legacy Thrift JSON (`GET /?service=` on the agent): Go's `encoding/json` over the Thrift
  structs, with `strategyType` as the integer Thrift 0.9.2 clients expect.

Numbers and strings are written the way Go writes them (`gotext.json`: `1` not `1.0`, `1e-7`,
`0.00001`, `<` as `\\u003c`), so responses are identical to Jaeger's rather than merely equivalent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyjaeger.gotext.json import marshal
from pyjaeger.sampling.model import (
    OperationStrategy,
    PerOperationStrategies,
    SamplingStrategy,
    StrategyType,
)

__all__ = ["to_proto_dict", "to_proto_json", "to_legacy_json", "from_proto_dict"]

_INT16_MIN = -(2**15)
_INT16_MAX = 2**15 - 1


def to_proto_dict(s: SamplingStrategy) -> dict[str, Any]:
    """The api_v2 `SamplingStrategyResponse` as its proto-JSON dict, with exactly Jaeger's keys.

    Keys are in proto field order; absent sub-messages are left out, present ones carry every
    field. The protobuf encoder takes this same shape.
    """
    out: dict[str, Any] = {"strategyType": StrategyType(s.strategy_type).name}
    if s.sampling_rate is not None:
        out["probabilisticSampling"] = {"samplingRate": float(s.sampling_rate)}
    if s.max_traces_per_second is not None:
        out["rateLimitingSampling"] = {"maxTracesPerSecond": int(s.max_traces_per_second)}
    if s.operation_sampling is not None:
        out["operationSampling"] = _per_operation(s.operation_sampling, legacy=False)
    return out


def to_proto_json(s: SamplingStrategy) -> bytes:
    """The body of `GET /sampling` (agent) and `GET /api/sampling` (collector)."""
    return _encode(to_proto_dict(s), legacy=False).encode()


def to_legacy_json(s: SamplingStrategy) -> bytes:
    """The body of the agent's legacy `GET /?service=`: Thrift JSON with an integer strategyType.

    Raises ValueError where Jaeger fails the request with a 500: a rate limit outside the Thrift
    i16 range, or a NaN/infinite number (Go's encoding/json refuses those).
    """
    out: dict[str, Any] = {"strategyType": int(s.strategy_type)}
    if s.sampling_rate is not None:
        out["probabilisticSampling"] = {"samplingRate": float(s.sampling_rate)}
    if s.max_traces_per_second is not None:
        limit = int(s.max_traces_per_second)
        if not _INT16_MIN <= limit <= _INT16_MAX:
            raise ValueError(f"maxTracesPerSecond {limit} does not fit the Thrift i16 field")
        out["rateLimitingSampling"] = {"maxTracesPerSecond": limit}
    if s.operation_sampling is not None:
        out["operationSampling"] = _per_operation(s.operation_sampling, legacy=True)
    return _encode(out, legacy=True).encode()


def _per_operation(p: PerOperationStrategies, *, legacy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "defaultSamplingProbability": float(p.default_sampling_probability),
        "defaultLowerBoundTracesPerSecond": float(p.default_lower_bound_traces_per_second),
        "perOperationStrategies": [
            {"operation": op.operation, "probabilisticSampling": {"samplingRate": float(op.sampling_rate)}}
            for op in p.per_operation
        ],
    }
    # Always printed, 0 when unset: proto3 has no presence for this double (EmitDefaults prints
    # the zero), and Jaeger's legacy thrift converter always sets the optional field from it.
    upper = p.default_upper_bound_traces_per_second
    out["defaultUpperBoundTracesPerSecond"] = 0.0 if upper is None else float(upper)
    return out


def from_proto_dict(d: Mapping[str, Any]) -> SamplingStrategy:
    """Read a proto-JSON `SamplingStrategyResponse` dict (e.g. the collector's answer).

    Lenient like a proto3 JSON parser: missing fields take their zero value, `strategyType` may
    be the name or the number, numbers may be strings. A zero upper bound reads as `None`, so
    `from_proto_dict(to_proto_dict(s)) == s` for every strategy the file parser makes.
    Raises ValueError naming the field when a value has the wrong type.
    """
    top = _mapping(d, "response")
    kind = _strategy_type(top.get("strategyType"))

    sampling_rate: float | None = None
    prob = top.get("probabilisticSampling")
    if prob is not None:
        sampling_rate = _float(_mapping(prob, "probabilisticSampling").get("samplingRate"), "samplingRate")

    limit: int | None = None
    rate_limiting = top.get("rateLimitingSampling")
    if rate_limiting is not None:
        limit = _int(
            _mapping(rate_limiting, "rateLimitingSampling").get("maxTracesPerSecond"), "maxTracesPerSecond"
        )

    per_op: PerOperationStrategies | None = None
    raw_ops = top.get("operationSampling")
    if raw_ops is not None:
        ops = _mapping(raw_ops, "operationSampling")
        upper = _float(ops.get("defaultUpperBoundTracesPerSecond"), "defaultUpperBoundTracesPerSecond")
        per_op = PerOperationStrategies(
            default_sampling_probability=_float(
                ops.get("defaultSamplingProbability"), "defaultSamplingProbability"
            ),
            default_lower_bound_traces_per_second=_float(
                ops.get("defaultLowerBoundTracesPerSecond"), "defaultLowerBoundTracesPerSecond"
            ),
            per_operation=tuple(
                _operation(raw, i) for i, raw in enumerate(_seq(ops.get("perOperationStrategies")))
            ),
            default_upper_bound_traces_per_second=upper or None,
        )
    return SamplingStrategy(kind, sampling_rate, limit, per_op)


def _operation(raw: Any, i: int) -> OperationStrategy:
    where = f"perOperationStrategies[{i}]"
    op = _mapping(raw, where)
    name = op.get("operation", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ValueError(f"{where}.operation: expected a string, got {type(name).__name__}")
    prob = op.get("probabilisticSampling")
    if prob is None:
        # The model (and every SDK) needs a rate here; Jaeger itself never sends one without.
        raise ValueError(f"{where}.probabilisticSampling is missing")
    rate = _float(
        _mapping(prob, f"{where}.probabilisticSampling").get("samplingRate"), f"{where}.samplingRate"
    )
    return OperationStrategy(name, rate)


def _strategy_type(value: Any) -> StrategyType:
    if value is None:
        return StrategyType.PROBABILISTIC
    if isinstance(value, str):
        try:
            return StrategyType[value]
        except KeyError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return StrategyType(value)
    raise ValueError(f"strategyType: unknown value {value!r}")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _seq(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"perOperationStrategies: expected an array, got {type(value).__name__}")
    return list(value)


def _float(value: Any, where: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        # proto3 JSON spells non-finite doubles as strings, and allows quoted numbers.
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if value in special:
            return special[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: expected a number, got {value!r}")


def _int(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: expected an integer, got {value!r}")


def _encode(value: Any, *, legacy: bool) -> str:
    # Structs: keys in field order. jsonpb writes non-finite doubles as strings; encoding/json
    # (the legacy endpoint) refuses them.
    return marshal(value, sort_keys=False, non_finite="error" if legacy else "proto")
