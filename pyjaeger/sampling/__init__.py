"""Remote sampling: the strategy model, Jaeger's strategies file, the provider and the wire JSON.

The agent (port 5778) and the collector (`/api/sampling`, gRPC `SamplingManager`) answer SDKs
from a `StrategyProvider`; `json` renders its strategies exactly as Jaeger does.
"""

from pyjaeger.sampling.json import from_proto_dict, to_legacy_json, to_proto_dict, to_proto_json
from pyjaeger.sampling.model import (
    OperationStrategy,
    PerOperationStrategies,
    SamplingStrategy,
    StrategyType,
    default_strategy,
)
from pyjaeger.sampling.provider import StrategyProvider
from pyjaeger.sampling.strategies_file import (
    DEFAULT_SAMPLING_PROBABILITY,
    Strategies,
    StrategiesError,
    parse_strategies,
)

__all__ = [
    "DEFAULT_SAMPLING_PROBABILITY",
    "OperationStrategy",
    "PerOperationStrategies",
    "SamplingStrategy",
    "Strategies",
    "StrategiesError",
    "StrategyProvider",
    "StrategyType",
    "default_strategy",
    "from_proto_dict",
    "parse_strategies",
    "to_legacy_json",
    "to_proto_dict",
    "to_proto_json",
]
