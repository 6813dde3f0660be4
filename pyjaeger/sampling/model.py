"""The sampling-strategy model: one shape for every source (file, collector) and every wire form.

It mirrors api_v2 `SamplingStrategyResponse` (sampling.proto), which is a union: a response
may carry a probabilistic rate, a rate limit and per-operation settings side by side (a
rate-limited service inherits the default's operation strategies, for instance). A `None` field
is absent from the response. Values are not range-checked: Jaeger passes file values through
as written and leaves their interpretation to the SDKs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "StrategyType",
    "OperationStrategy",
    "PerOperationStrategies",
    "SamplingStrategy",
    "default_strategy",
]


class StrategyType(enum.IntEnum):
    """`SamplingStrategyType`; the values are the wire numbers of both the Thrift and proto enums."""

    PROBABILISTIC = 0
    RATE_LIMITING = 1


@dataclass(slots=True, frozen=True)
class OperationStrategy:
    """A probabilistic rate for one operation (the only per-operation kind the IDL has)."""

    operation: str
    sampling_rate: float


@dataclass(slots=True, frozen=True)
class PerOperationStrategies:
    """`PerOperationSamplingStrategies`.

    `default_sampling_probability` applies to operations not listed; the lower bound is a
    per-instance floor for every operation. `default_upper_bound_traces_per_second` is optional
    in Thrift; `None` means "not set" (proto renders it as 0, which SDKs read the same way).
    """

    default_sampling_probability: float
    default_lower_bound_traces_per_second: float
    per_operation: tuple[OperationStrategy, ...]
    default_upper_bound_traces_per_second: float | None = None


@dataclass(slots=True, frozen=True)
class SamplingStrategy:
    """`SamplingStrategyResponse`.

    `sampling_rate` is the probabilistic rate and `max_traces_per_second` the rate limit; each
    is `None` when its sub-message is absent. When `operation_sampling` is present SDKs use it
    and may ignore `strategy_type`.
    """

    strategy_type: StrategyType
    sampling_rate: float | None = None
    max_traces_per_second: int | None = None
    operation_sampling: PerOperationStrategies | None = None


def default_strategy(probability: float) -> SamplingStrategy:
    """What Jaeger answers when nothing more specific is configured: probabilistic at `probability`."""
    return SamplingStrategy(StrategyType.PROBABILISTIC, sampling_rate=probability)
