"""parse_strategies: Jaeger's file format, defaults and merging rules, checked on Jaeger's fixtures."""

from __future__ import annotations

import logging

import pytest

from pyjaeger.sampling.model import OperationStrategy, PerOperationStrategies, SamplingStrategy, StrategyType
from pyjaeger.sampling.strategies_file import (
    DEFAULT_SAMPLING_PROBABILITY,
    Strategies,
    StrategiesError,
    parse_strategies,
)

PROB = StrategyType.PROBABILISTIC
RATE = StrategyType.RATE_LIMITING


def prob(rate: float, ops: PerOperationStrategies | None = None) -> SamplingStrategy:
    return SamplingStrategy(PROB, sampling_rate=rate, operation_sampling=ops)


def rate_limit(limit: int, ops: PerOperationStrategies | None = None) -> SamplingStrategy:
    return SamplingStrategy(RATE, max_traces_per_second=limit, operation_sampling=ops)


def per_op(default: float, *ops: tuple[str, float]) -> PerOperationStrategies:
    return PerOperationStrategies(default, 0.0, tuple(OperationStrategy(name, r) for name, r in ops))


# --- Jaeger v1.76.0 fixtures (internal/sampling/samplingstrategy/file/fixtures), data as is ---

STRATEGIES_JSON = """{
  "default_strategy": {"type": "probabilistic", "param": 0.5},
  "service_strategies": [
    {"service": "foo", "type": "probabilistic", "param": 0.8},
    {"service": "bar", "type": "ratelimiting", "param": 5}
  ]
}"""

OPERATION_STRATEGIES_JSON = """{
  "default_strategy": {
    "type": "probabilistic",
    "param": 0.5,
    "operation_strategies": [
      {"operation": "op0", "type": "probabilistic", "param": 0.2},
      {"operation": "op6", "type": "probabilistic", "param": 0},
      {"operation": "spam", "type": "ratelimiting", "param": 1},
      {"operation": "op7", "type": "probabilistic", "param": 1}
    ]
  },
  "service_strategies": [
    {
      "service": "foo",
      "type": "probabilistic",
      "param": 0.8,
      "operation_strategies": [
        {"operation": "op6", "type": "probabilistic", "param": 0.5},
        {"operation": "op1", "type": "probabilistic", "param": 0.2},
        {"operation": "op2", "type": "ratelimiting", "param": 10}
      ]
    },
    {
      "service": "bar",
      "type": "ratelimiting",
      "param": 5,
      "operation_strategies": [
        {"operation": "op3", "type": "probabilistic", "param": 0.3},
        {"operation": "op4", "type": "ratelimiting", "param": 100},
        {"operation": "op5", "type": "probabilistic", "param": 0.4}
      ]
    }
  ]
}"""

MISSING_SERVICE_TYPES_JSON = """{
  "default_strategy": {"type": "probabilistic", "param": 0.5},
  "service_strategies": [
    {"service": "foo", "operation_strategies": [{"operation": "op1", "type": "probabilistic", "param": 0.2}]},
    {
      "service": "bar",
      "operation_strategies": [
        {"operation": "op3", "type": "probabilistic", "param": 0.3},
        {"operation": "op5", "type": "probabilistic", "param": 0.4}
      ]
    }
  ]
}"""

SERVICE_NO_PER_OPERATION_JSON = """{
  "service_strategies": [
    {"service": "ServiceA", "type": "probabilistic", "param": 1.0},
    {"service": "ServiceB", "type": "ratelimiting", "param": 3}
  ],
  "default_strategy": {
    "type": "probabilistic",
    "param": 0.2,
    "operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0.1}]
  }
}"""

# (document, service, expected): what Jaeger's provider_test.go asserts, plus the snapshots
# TestServiceNoPerOperationStrategies_ServiceA.json / _ServiceB.json.
JAEGER_CASES = [
    pytest.param(STRATEGIES_JSON, "foo", prob(0.8), id="strategies-foo"),
    pytest.param(STRATEGIES_JSON, "bar", rate_limit(5), id="strategies-bar"),
    pytest.param(STRATEGIES_JSON, "default", prob(0.5), id="strategies-unknown-service"),
    pytest.param(
        OPERATION_STRATEGIES_JSON,
        "foo",
        prob(0.8, per_op(0.8, ("op6", 0.5), ("op1", 0.2), ("op0", 0.2), ("op7", 1.0))),
        id="operations-foo-own-list-merged",
    ),
    pytest.param(
        OPERATION_STRATEGIES_JSON,
        "bar",
        rate_limit(5, per_op(0.001, ("op3", 0.3), ("op5", 0.4), ("op0", 0.2), ("op6", 0.0), ("op7", 1.0))),
        id="operations-bar-ratelimiting-global-default",
    ),
    pytest.param(
        OPERATION_STRATEGIES_JSON,
        "default",
        prob(0.5, per_op(0.5, ("op0", 0.2), ("op6", 0.0), ("op7", 1.0))),
        id="operations-default",
    ),
    pytest.param(
        MISSING_SERVICE_TYPES_JSON, "foo", prob(0.001, per_op(0.001, ("op1", 0.2))), id="missing-type-foo"
    ),
    pytest.param(
        MISSING_SERVICE_TYPES_JSON,
        "bar",
        prob(0.001, per_op(0.001, ("op3", 0.3), ("op5", 0.4))),
        id="missing-type-bar",
    ),
    pytest.param(MISSING_SERVICE_TYPES_JSON, "default", prob(0.5), id="missing-type-default"),
    pytest.param(
        SERVICE_NO_PER_OPERATION_JSON,
        "ServiceA",
        prob(1.0, per_op(1.0, ("/health", 0.1))),
        id="no-per-operation-ServiceA",
    ),
    pytest.param(
        SERVICE_NO_PER_OPERATION_JSON,
        "ServiceB",
        rate_limit(3, per_op(0.2, ("/health", 0.1))),
        id="no-per-operation-ServiceB",
    ),
]


@pytest.mark.parametrize(("document", "service", "expected"), JAEGER_CASES)
def test_jaeger_fixtures(document: str, service: str, expected: SamplingStrategy) -> None:
    assert parse_strategies(document).get(service) == expected


def test_operation_warnings_name_the_skipped_operations(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_strategies(OPERATION_STRATEGIES_JSON)
    text = caplog.text
    # The fallback probability in the message is the block's default: the service's own rate
    # for a probabilistic service, the global default for a rate-limited one.
    assert "'op2' defaulting to probabilistic sampling with probability 0.8" in text
    assert "'op4' defaulting to probabilistic sampling with probability 0.001" in text
    assert "'spam'" in text


def test_missing_type_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_strategies(MISSING_SERVICE_TYPES_JSON)
    assert "Failed to parse sampling strategy service_strategies[0]" in caplog.text


# --- every rule, one small document each ---


@pytest.mark.parametrize(
    ("document", "service", "expected"),
    [
        pytest.param("{}", "any", prob(0.001), id="empty-object-default"),
        pytest.param("null", "any", prob(0.001), id="null-document-default"),
        pytest.param('{"default_strategy": null}', "any", prob(0.001), id="null-default-strategy"),
        pytest.param(
            '{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 7}]}',
            "b",
            prob(0.001),
            id="no-default-strategy-uses-0.001",
        ),
        pytest.param(
            '{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 7}]}',
            "a",
            rate_limit(7),
            id="service-without-default",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting", "param": 2}}',
            "x",
            rate_limit(2),
            id="default-ratelimiting",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting", "param": 3.99}}',
            "x",
            rate_limit(3),
            id="truncated",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting", "param": -2.7}}',
            "x",
            rate_limit(-2),
            id="truncated-toward-zero",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting", "param": 1e12}}',
            "x",
            rate_limit(2**31 - 1),
            id="clamped-to-int32",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting"}}', "x", rate_limit(0), id="missing-param-is-zero"
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 1}}', "x", prob(1.0), id="integer-param"
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 7}}',
            "x",
            prob(7.0),
            id="not-range-checked",
        ),
        pytest.param(
            '{"default_strategy": {"type": "lowerbound", "param": 0.5}}', "x", prob(0.001), id="unknown-type"
        ),
        pytest.param(
            '{"default_strategy": {"type": "Probabilistic", "param": 0.5}}',
            "x",
            prob(0.001),
            id="type-is-case-sensitive",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5},'
            ' "service_strategies": [{"service": "foo", "type": "probabilistic", "param": 0.8}]}',
            "Foo",
            prob(0.5),
            id="lookup-is-exact",
        ),
        pytest.param(
            '{"service_strategies": [{"type": "probabilistic", "param": 0.3}]}',
            "",
            prob(0.3),
            id="entry-without-service-is-the-empty-name",
        ),
        pytest.param(
            '{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.1},'
            ' {"service": "a", "type": "probabilistic", "param": 0.2}]}',
            "a",
            prob(0.2),
            id="duplicate-service-last-wins",
        ),
        pytest.param(
            '{"Default_Strategy": {"TYPE": "probabilistic", "Param": 0.25}}',
            "x",
            prob(0.25),
            id="keys-case-insensitive-like-go",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.25, "comment": "hi"}, "version": 2}',
            "x",
            prob(0.25),
            id="unknown-keys-ignored",
        ),
    ],
)
def test_rules(document: str, service: str, expected: SamplingStrategy) -> None:
    assert parse_strategies(document).get(service) == expected


@pytest.mark.parametrize(
    ("document", "service", "expected"),
    [
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1}]}}',
            "x",
            prob(0.5, per_op(0.5, ("a", 0.1))),
            id="default-own-operations",
        ),
        pytest.param(
            '{"default_strategy": {"type": "ratelimiting", "param": 4,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1}]}}',
            "x",
            rate_limit(4, per_op(0.001, ("a", 0.1))),
            id="ratelimiting-default-block-uses-global-probability",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "ratelimiting", "param": 3}]}}',
            "x",
            prob(0.5, per_op(0.5)),
            id="only-ratelimiting-operations-leaves-empty-block",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "bogus", "param": 0.3}]}}',
            "x",
            prob(0.5, per_op(0.5, ("a", 0.001))),
            id="unknown-operation-type-gets-global-probability",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5, "operation_strategies": []}}',
            "x",
            prob(0.5),
            id="empty-operation-list-is-none",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1}]},'
            ' "service_strategies": [{"service": "s", "type": "probabilistic", "param": 0.9,'
            ' "operation_strategies": []}]}',
            "s",
            prob(0.9, per_op(0.9, ("a", 0.1))),
            id="service-empty-list-copies-default-block",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1}]},'
            ' "service_strategies": [{"service": "s", "type": "bogus", "param": 0.9}]}',
            "s",
            prob(0.001, per_op(0.001, ("a", 0.1))),
            id="unknown-service-type-is-probabilistic-for-the-copy",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1},'
            ' {"operation": "b", "type": "probabilistic", "param": 0.2},'
            ' {"operation": "b", "type": "probabilistic", "param": 0.3}]},'
            ' "service_strategies": [{"service": "s", "type": "probabilistic", "param": 0.9,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.7},'
            ' {"operation": "a", "type": "probabilistic", "param": 0.8}]}]}',
            "s",
            prob(0.9, per_op(0.9, ("a", 0.7), ("a", 0.8), ("b", 0.2), ("b", 0.3))),
            id="merge-keeps-repeats-like-jaeger",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5},'
            ' "service_strategies": [{"service": "s", "type": "probabilistic", "param": 0.9,'
            ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.7}]}]}',
            "s",
            prob(0.9, per_op(0.9, ("a", 0.7))),
            id="no-default-operations-nothing-merged",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": 0.5,'
            ' "operation_strategies": [{"type": "probabilistic", "param": 0.1}]}}',
            "x",
            prob(0.5, per_op(0.5, ("", 0.1))),
            id="operation-without-name",
        ),
    ],
)
def test_operation_rules(document: str, service: str, expected: SamplingStrategy) -> None:
    assert parse_strategies(document).get(service) == expected


def test_default_probability_argument() -> None:
    document = (
        '{"service_strategies": [{"service": "rl", "type": "ratelimiting", "param": 1,'
        ' "operation_strategies": [{"operation": "a", "type": "probabilistic", "param": 0.1}]},'
        ' {"service": "odd", "type": "nope"}]}'
    )
    parsed = parse_strategies(document, default_probability=0.25)
    assert parsed.default == prob(0.25)
    assert parsed.get("rl") == rate_limit(1, per_op(0.25, ("a", 0.1)))
    assert parsed.get("odd") == prob(0.25)
    assert parse_strategies("{}").default == prob(DEFAULT_SAMPLING_PROBABILITY)


def test_result_shape_and_inputs() -> None:
    parsed = parse_strategies(STRATEGIES_JSON.encode())
    assert isinstance(parsed, Strategies)
    assert parsed.default == prob(0.5)
    assert parsed.services == {"foo": prob(0.8), "bar": rate_limit(5)}
    # A UTF-8 BOM (Windows editors) is accepted.
    assert parse_strategies(b"\xef\xbb\xbf" + STRATEGIES_JSON.encode()) == parsed
    assert parse_strategies("\ufeff" + STRATEGIES_JSON) == parsed


def test_out_of_range_rate_limit_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_strategies('{"default_strategy": {"type": "ratelimiting", "param": -1e12}}')
    assert "outside int32" in caplog.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param("", "invalid JSON at line 1 column 1", id="empty"),
        pytest.param("{", "invalid JSON at line 1 column 2", id="truncated"),
        pytest.param("bad value", "invalid JSON", id="not-json"),
        pytest.param('{"default_strategy": {}} {}', "invalid JSON", id="trailing-data"),
        # fixtures/bad_strategies.json
        pytest.param(
            '"nonsense"\n', "the strategies document: expected an object, got a string", id="string"
        ),
        pytest.param("[]", "the strategies document: expected an object, got an array", id="array"),
        pytest.param(
            '{"default_strategy": 1}', "default_strategy: expected an object, got a number", id="default"
        ),
        pytest.param(
            '{"default_strategy": {"type": 1}}',
            "default_strategy.type: expected a string, got a number",
            id="type",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": "0.5"}}',
            "default_strategy.param: expected a number, got a string",
            id="param-string",
        ),
        pytest.param(
            '{"default_strategy": {"type": "probabilistic", "param": true}}',
            "default_strategy.param: expected a number, got a boolean",
            id="param-bool",
        ),
        pytest.param(
            '{"service_strategies": {"service": "a"}}',
            "service_strategies: expected an array, got an object",
            id="services-object",
        ),
        pytest.param(
            '{"service_strategies": [{"service": "a"}, null]}',
            "service_strategies[1]: expected an object, got null",
            id="null-service-entry",
        ),
        pytest.param(
            '{"service_strategies": [{"service": 5}]}',
            "service_strategies[0].service: expected a string, got a number",
            id="service-name",
        ),
        pytest.param(
            '{"service_strategies": [{"service": "a", "operation_strategies": [null]}]}',
            "service_strategies[0].operation_strategies[0]: expected an object, got null",
            id="null-operation",
        ),
        pytest.param(
            '{"service_strategies": [{"service": "a", "operation_strategies": [{"operation": ["x"]}]}]}',
            "service_strategies[0].operation_strategies[0].operation: expected a string, got an array",
            id="operation-name",
        ),
        pytest.param(
            '{"default_strategy": {"param": NaN}}', "invalid JSON: NaN is not a JSON number", id="nan"
        ),
        pytest.param(
            '{"default_strategy": {"param": 1e400}}',
            "invalid JSON: number 1e400 is out of range for a float64",
            id="huge-float",
        ),
        pytest.param(
            '{"default_strategy": {"param": 1' + "0" * 400 + "}}",
            "invalid JSON: number 10000000000000000000000000000... is out",
            id="huge-int",
        ),
    ],
)
def test_errors(document: str, message: str) -> None:
    with pytest.raises(StrategiesError) as info:
        parse_strategies(document)
    assert str(info.value).startswith(message)


def test_error_is_a_value_error() -> None:
    assert issubclass(StrategiesError, ValueError)
