"""Jaeger's sampling-strategies JSON (`--sampling.strategies-file`) parsed into the model.

The format and its rules are Jaeger's (`internal/sampling/samplingstrategy/file`):

    {"default_strategy": S, "service_strategies": [S + {"service": name}, ...]}
    S = {"type": "probabilistic" | "ratelimiting", "param": number,
         "operation_strategies": [{"operation": name, "type": ..., "param": ...}, ...]}

- `probabilistic`: param is the probability; `ratelimiting`: param is traces per second,
  truncated toward zero to an int32. Any other type logs a warning and becomes probabilistic at
  the default probability.
- Operation strategies are probabilistic only: a `ratelimiting` one is dropped with a warning.
  Their block's default probability is the service's own rate when the service is probabilistic,
  else the global default probability; the lower bound is 0.
- When the default strategy has operation strategies, every service gets them: a service
  without its own list gets a copy of the default's block (with its own rate as the block's
  default probability when it is probabilistic); a service with a list gets the default's
  operations it does not list itself appended after its own.

Decoding follows Go's `encoding/json` where a file Jaeger accepts could otherwise be refused:
unknown keys are ignored, `null` counts as absent, and known keys match case-insensitively.
Where Go would fail or panic (a value of the wrong JSON type, a `null` list entry) this module
raises `StrategiesError` naming the offending field.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

from pyjaeger.json_kind import json_kind
from pyjaeger.sampling.model import (
    OperationStrategy,
    PerOperationStrategies,
    SamplingStrategy,
    StrategyType,
    default_strategy,
)

__all__ = [
    "DEFAULT_SAMPLING_PROBABILITY",
    "StrategiesError",
    "Strategies",
    "parse_strategies",
]

log = logging.getLogger(__name__)

# `--sampling.default-sampling-probability`'s default.
DEFAULT_SAMPLING_PROBABILITY = 0.001

_PROBABILISTIC = "probabilistic"
_RATE_LIMITING = "ratelimiting"

# Every key of the format; Go's decoder matches them whatever their case.
_FIELDS = frozenset(
    (
        "default_strategy",
        "service_strategies",
        "service",
        "type",
        "param",
        "operation_strategies",
        "operation",
    )
)

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


class StrategiesError(ValueError):
    """The strategies document is unusable; the message says where and why."""


@dataclass(slots=True, frozen=True)
class Strategies:
    """A parsed strategies document: the default and each named service's strategy (merged)."""

    default: SamplingStrategy
    services: dict[str, SamplingStrategy] = field(default_factory=dict)

    def get(self, service: str) -> SamplingStrategy:
        """The strategy for an exact service name, else the default."""
        return self.services.get(service, self.default)


def parse_strategies(
    data: bytes | str, default_probability: float = DEFAULT_SAMPLING_PROBABILITY
) -> Strategies:
    """Parse a strategies document and apply Jaeger's defaults and merging rules.

    `default_probability` is what an absent default strategy, an unknown type and a
    non-probabilistic service's per-operation block fall back to. A document that is just
    `null` (what a URL source answering 503 stands for) yields the defaults.
    Raises `StrategiesError` for invalid JSON or a value of the wrong shape.
    """
    doc = _load(data)
    fallback = default_strategy(default_probability)
    if doc is None:
        return Strategies(fallback)
    top = _object(doc, "the strategies document")

    raw_default = top.get("default_strategy")
    default = (
        fallback
        if raw_default is None
        else _service_strategy(
            _object(raw_default, "default_strategy"), "default_strategy", default_probability
        )
    )

    services: dict[str, SamplingStrategy] = {}
    for i, raw in enumerate(_list(top.get("service_strategies"), "service_strategies")):
        where = f"service_strategies[{i}]"
        entry = _object(raw, where)
        name = _string(entry.get("service"), f"{where}.service")
        if name in services:
            log.warning("sampling strategies: service %r is listed twice; the last entry wins", name)
        own = _service_strategy(entry, where, default_probability)
        services[name] = _inherit_operations(own, default)
    return Strategies(default, services)


def _inherit_operations(own: SamplingStrategy, default: SamplingStrategy) -> SamplingStrategy:
    """Give a service the default strategy's per-operation settings, as Jaeger does."""
    inherited = default.operation_sampling
    if inherited is None:
        return own
    ops = own.operation_sampling
    if ops is None:
        # Jaeger tests for a probabilistic sub-message here, not for the strategy type; with
        # this parser the two coincide.
        if own.sampling_rate is not None:
            inherited = replace(inherited, default_sampling_probability=own.sampling_rate)
        return replace(own, operation_sampling=inherited)
    # The service's own entries win; only its own names are checked, so repeats inside the
    # default's list are appended as they are, like Jaeger's merge.
    listed = {op.operation for op in ops.per_operation}
    extra = tuple(op for op in inherited.per_operation if op.operation not in listed)
    return replace(own, operation_sampling=replace(ops, per_operation=ops.per_operation + extra))


def _service_strategy(obj: dict[str, Any], where: str, default_probability: float) -> SamplingStrategy:
    strategy = _strategy(obj, where, default_probability)
    raw_ops = _list(obj.get("operation_strategies"), f"{where}.operation_strategies")
    if not raw_ops:
        # An empty list is the same as none: the service may still inherit the default's.
        return strategy
    block_default = (
        strategy.sampling_rate
        if strategy.strategy_type is StrategyType.PROBABILISTIC and strategy.sampling_rate is not None
        else default_probability
    )
    per_operation: list[OperationStrategy] = []
    for i, raw in enumerate(raw_ops):
        op_where = f"{where}.operation_strategies[{i}]"
        op_obj = _object(raw, op_where)
        name = _string(op_obj.get("operation"), f"{op_where}.operation")
        op = _strategy(op_obj, op_where, default_probability)
        if op.strategy_type is StrategyType.RATE_LIMITING or op.sampling_rate is None:
            log.warning(
                "Operation strategies only supports probabilistic sampling at the moment, "
                "'%s' defaulting to probabilistic sampling with probability %f (%s)",
                name,
                block_default,
                op_where,
            )
            continue
        per_operation.append(OperationStrategy(name, op.sampling_rate))
    return replace(
        strategy,
        operation_sampling=PerOperationStrategies(
            default_sampling_probability=block_default,
            default_lower_bound_traces_per_second=0.0,
            per_operation=tuple(per_operation),
        ),
    )


def _strategy(obj: dict[str, Any], where: str, default_probability: float) -> SamplingStrategy:
    kind = _string(obj.get("type"), f"{where}.type")
    param = _number(obj.get("param"), f"{where}.param")
    if kind == _PROBABILISTIC:
        return SamplingStrategy(StrategyType.PROBABILISTIC, sampling_rate=param)
    if kind == _RATE_LIMITING:
        return SamplingStrategy(StrategyType.RATE_LIMITING, max_traces_per_second=_int32(param, where))
    log.warning(
        "Failed to parse sampling strategy %s: unknown type %r (want %r or %r);"
        " using probabilistic sampling with probability %g",
        where,
        kind,
        _PROBABILISTIC,
        _RATE_LIMITING,
        default_probability,
    )
    return default_strategy(default_probability)


def _int32(param: float, where: str) -> int:
    # Go's int32(float64) truncates toward zero; out of range its result is platform garbage,
    # so clamp instead and say so.
    value = math.trunc(param)
    if not _INT32_MIN <= value <= _INT32_MAX:
        clamped = max(_INT32_MIN, min(_INT32_MAX, value))
        log.warning("sampling strategies: %s.param %g is outside int32; using %d", where, param, clamped)
        return clamped
    return value


# --- JSON decoding with Go's leniency and strictness -------------------------------------------


def _load(data: bytes | str) -> Any:
    if isinstance(data, bytes):
        # Go substitutes U+FFFD for invalid UTF-8 rather than failing; a BOM is tolerated here.
        data = data.decode("utf-8-sig", errors="replace")
    elif data.startswith("\ufeff"):
        data = data[1:]
    try:
        return json.loads(
            data,
            object_pairs_hook=_fold_keys,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as e:
        raise StrategiesError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


def _fold_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Later keys overwrite earlier ones, as in Go, including "Param" after "param".
    out: dict[str, Any] = {}
    for key, value in pairs:
        folded = key.casefold()
        out[folded if folded in _FIELDS else key] = value
    return out


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _out_of_range(text)
    return value


def _parse_int(text: str) -> float:
    # Every number in the format is a float64 in Go; convert here so huge integers fail early.
    try:
        return float(int(text))
    except (OverflowError, ValueError):
        raise _out_of_range(text) from None


def _out_of_range(text: str) -> StrategiesError:
    shown = text if len(text) <= 32 else text[:29] + "..."
    return StrategiesError(f"invalid JSON: number {shown} is out of range for a float64")


def _reject_constant(text: str) -> Any:
    raise StrategiesError(f"invalid JSON: {text} is not a JSON number")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StrategiesError(f"{where}: expected an object, got {json_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StrategiesError(f"{where}: expected an array, got {json_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StrategiesError(f"{where}: expected a string, got {json_kind(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, float):
        raise StrategiesError(f"{where}: expected a number, got {json_kind(value)}")
    return value
