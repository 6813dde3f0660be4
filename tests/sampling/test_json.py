"""Sampling JSON: Jaeger's exact bytes for both wire forms, and reading proto-JSON back."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from pyjaeger.sampling.json import from_proto_dict, to_legacy_json, to_proto_dict, to_proto_json
from pyjaeger.sampling.model import OperationStrategy, PerOperationStrategies, SamplingStrategy, StrategyType
from pyjaeger.sampling.strategies_file import parse_strategies

PROB = StrategyType.PROBABILISTIC
RATE = StrategyType.RATE_LIMITING

HEALTH_BLOCK = PerOperationStrategies(0.2, 0.0, (OperationStrategy("/health", 0.1),))

# (strategy, proto-JSON bytes, legacy Thrift JSON bytes)
SHAPES = [
    pytest.param(
        SamplingStrategy(PROB, sampling_rate=0.001),
        b'{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}',
        b'{"strategyType":0,"probabilisticSampling":{"samplingRate":0.001}}',
        id="probabilistic",
    ),
    pytest.param(
        SamplingStrategy(PROB, sampling_rate=1.0),
        b'{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}',
        b'{"strategyType":0,"probabilisticSampling":{"samplingRate":1}}',
        id="probabilistic-one",
    ),
    pytest.param(
        SamplingStrategy(RATE, max_traces_per_second=42),
        b'{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":42}}',
        b'{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":42}}',
        id="ratelimiting",
    ),
    pytest.param(
        SamplingStrategy(
            PROB,
            sampling_rate=0.8,
            operation_sampling=PerOperationStrategies(
                0.8, 0.0, (OperationStrategy("op6", 0.5), OperationStrategy("op1", 0.2))
            ),
        ),
        b'{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.8},'
        b'"operationSampling":{"defaultSamplingProbability":0.8,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[{"operation":"op6","probabilisticSampling":{"samplingRate":0.5}},'
        b'{"operation":"op1","probabilisticSampling":{"samplingRate":0.2}}],'
        b'"defaultUpperBoundTracesPerSecond":0}}',
        b'{"strategyType":0,"probabilisticSampling":{"samplingRate":0.8},'
        b'"operationSampling":{"defaultSamplingProbability":0.8,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[{"operation":"op6","probabilisticSampling":{"samplingRate":0.5}},'
        b'{"operation":"op1","probabilisticSampling":{"samplingRate":0.2}}],'
        b'"defaultUpperBoundTracesPerSecond":0}}',
        id="probabilistic-per-operation",
    ),
    # Jaeger's fixture TestServiceNoPerOperationStrategies_ServiceB: both sub-messages present.
    pytest.param(
        SamplingStrategy(RATE, max_traces_per_second=3, operation_sampling=HEALTH_BLOCK),
        b'{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":3},'
        b'"operationSampling":{"defaultSamplingProbability":0.2,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[{"operation":"/health","probabilisticSampling":{"samplingRate":0.1}}],'
        b'"defaultUpperBoundTracesPerSecond":0}}',
        b'{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":3},'
        b'"operationSampling":{"defaultSamplingProbability":0.2,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[{"operation":"/health","probabilisticSampling":{"samplingRate":0.1}}],'
        b'"defaultUpperBoundTracesPerSecond":0}}',
        id="ratelimiting-per-operation",
    ),
    # Jaeger's sampling_test.go "operationSampling": only the per-operation block, upper bound set.
    pytest.param(
        SamplingStrategy(
            PROB,
            operation_sampling=PerOperationStrategies(
                0.42, 2.0, (OperationStrategy("foo", 0.42), OperationStrategy("bar", 0.42)), 11.2
            ),
        ),
        b'{"strategyType":"PROBABILISTIC","operationSampling":{"defaultSamplingProbability":0.42,'
        b'"defaultLowerBoundTracesPerSecond":2,"perOperationStrategies":['
        b'{"operation":"foo","probabilisticSampling":{"samplingRate":0.42}},'
        b'{"operation":"bar","probabilisticSampling":{"samplingRate":0.42}}],'
        b'"defaultUpperBoundTracesPerSecond":11.2}}',
        b'{"strategyType":0,"operationSampling":{"defaultSamplingProbability":0.42,'
        b'"defaultLowerBoundTracesPerSecond":2,"perOperationStrategies":['
        b'{"operation":"foo","probabilisticSampling":{"samplingRate":0.42}},'
        b'{"operation":"bar","probabilisticSampling":{"samplingRate":0.42}}],'
        b'"defaultUpperBoundTracesPerSecond":11.2}}',
        id="operation-sampling-only",
    ),
    pytest.param(
        SamplingStrategy(PROB, sampling_rate=0.5, operation_sampling=PerOperationStrategies(0.5, 0.0, ())),
        b'{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5},'
        b'"operationSampling":{"defaultSamplingProbability":0.5,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[],"defaultUpperBoundTracesPerSecond":0}}',
        b'{"strategyType":0,"probabilisticSampling":{"samplingRate":0.5},'
        b'"operationSampling":{"defaultSamplingProbability":0.5,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[],"defaultUpperBoundTracesPerSecond":0}}',
        id="empty-operation-list",
    ),
    pytest.param(
        SamplingStrategy(PROB),
        b'{"strategyType":"PROBABILISTIC"}',
        b'{"strategyType":0}',
        id="bare",
    ),
]


@pytest.mark.parametrize(("strategy", "proto", "legacy"), SHAPES)
def test_shapes(strategy: SamplingStrategy, proto: bytes, legacy: bytes) -> None:
    assert to_proto_json(strategy) == proto
    assert to_legacy_json(strategy) == legacy
    assert orjson.loads(proto) == to_proto_dict(strategy)


@pytest.mark.parametrize(("strategy", "proto", "legacy"), SHAPES)
def test_from_proto_dict_inverts(strategy: SamplingStrategy, proto: bytes, legacy: bytes) -> None:
    assert from_proto_dict(to_proto_dict(strategy)) == strategy
    assert from_proto_dict(orjson.loads(proto)) == strategy


def test_proto_dict_shape() -> None:
    s = SamplingStrategy(RATE, max_traces_per_second=3, operation_sampling=HEALTH_BLOCK)
    assert to_proto_dict(s) == {
        "strategyType": "RATE_LIMITING",
        "rateLimitingSampling": {"maxTracesPerSecond": 3},
        "operationSampling": {
            "defaultSamplingProbability": 0.2,
            "defaultLowerBoundTracesPerSecond": 0.0,
            "perOperationStrategies": [
                {"operation": "/health", "probabilisticSampling": {"samplingRate": 0.1}}
            ],
            "defaultUpperBoundTracesPerSecond": 0.0,
        },
    }
    # Key order is proto field order, as jsonpb writes it.
    assert list(to_proto_dict(s)) == ["strategyType", "rateLimitingSampling", "operationSampling"]
    assert isinstance(to_proto_dict(s)["rateLimitingSampling"]["maxTracesPerSecond"], int)


def test_file_strategies_render() -> None:
    parsed = parse_strategies(
        '{"default_strategy": {"type": "probabilistic", "param": 0.2,'
        ' "operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0.1}]},'
        ' "service_strategies": [{"service": "ServiceB", "type": "ratelimiting", "param": 3}]}'
    )
    assert to_proto_json(parsed.get("ServiceB")) == (
        b'{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":3},'
        b'"operationSampling":{"defaultSamplingProbability":0.2,"defaultLowerBoundTracesPerSecond":0,'
        b'"perOperationStrategies":[{"operation":"/health","probabilisticSampling":{"samplingRate":0.1}}],'
        b'"defaultUpperBoundTracesPerSecond":0}}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-5, "0.00001"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-10, "1e-10"),
        (5e-324, "5e-324"),
        (123456.789, "123456.789"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-2.5e22, "-2.5e+22"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_numbers_as_go_writes_them(value: float, text: str) -> None:
    expected = '{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":%s}}' % text
    assert to_proto_json(SamplingStrategy(PROB, sampling_rate=value)) == expected.encode()
    assert orjson.loads(to_proto_json(SamplingStrategy(PROB, sampling_rate=value))) == to_proto_dict(
        SamplingStrategy(PROB, sampling_rate=value)
    )


def test_strings_as_go_writes_them() -> None:
    name = 'a<b>&"\\\n\r\t\b\f\x01\u2028\u2029é☃\U0001f600\ud800'
    ops = PerOperationStrategies(0.1, 0.0, (OperationStrategy(name, 0.5),))
    out = to_proto_json(SamplingStrategy(PROB, operation_sampling=ops))
    expected = (
        '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u2028\\u2029é☃\U0001f600\\ufffd"'
    ).encode()
    assert b'"operation":' + expected + b"," in out
    assert b'"operation":' + expected + b"," in to_legacy_json(SamplingStrategy(PROB, operation_sampling=ops))


def test_non_finite_numbers() -> None:
    s = SamplingStrategy(
        PROB, sampling_rate=math.nan, operation_sampling=PerOperationStrategies(math.inf, -math.inf, ())
    )
    assert to_proto_json(s) == (
        b'{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":"NaN"},'
        b'"operationSampling":{"defaultSamplingProbability":"Infinity",'
        b'"defaultLowerBoundTracesPerSecond":"-Infinity","perOperationStrategies":[],'
        b'"defaultUpperBoundTracesPerSecond":0}}'
    )
    back = from_proto_dict(orjson.loads(to_proto_json(s)))
    assert back.sampling_rate is not None and math.isnan(back.sampling_rate)
    assert back.operation_sampling is not None
    assert back.operation_sampling.default_sampling_probability == math.inf
    # Go's encoding/json refuses NaN and infinities; Jaeger answers 500.
    with pytest.raises(ValueError, match="NaN"):
        to_legacy_json(SamplingStrategy(PROB, sampling_rate=math.nan))


def test_legacy_rate_limit_must_fit_i16() -> None:
    assert to_legacy_json(SamplingStrategy(RATE, max_traces_per_second=32767)) == (
        b'{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":32767}}'
    )
    with pytest.raises(ValueError, match="i16"):
        to_legacy_json(SamplingStrategy(RATE, max_traces_per_second=32768))
    # proto's field is an int32: no limit there.
    assert b'"maxTracesPerSecond":32768' in to_proto_json(SamplingStrategy(RATE, max_traces_per_second=32768))


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        pytest.param({}, SamplingStrategy(PROB), id="empty-is-zero-values"),
        pytest.param(
            {"probabilisticSampling": {}}, SamplingStrategy(PROB, sampling_rate=0.0), id="omitted-zero-rate"
        ),
        pytest.param(
            {"strategyType": 1, "rateLimitingSampling": {"maxTracesPerSecond": "7"}},
            SamplingStrategy(RATE, max_traces_per_second=7),
            id="enum-number-and-quoted-int",
        ),
        pytest.param(
            {"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 7.0}},
            SamplingStrategy(RATE, max_traces_per_second=7),
            id="integral-float",
        ),
        pytest.param(
            {"probabilisticSampling": {"samplingRate": "0.25"}},
            SamplingStrategy(PROB, sampling_rate=0.25),
            id="quoted-double",
        ),
        pytest.param(
            {"strategyType": None, "probabilisticSampling": None, "operationSampling": None},
            SamplingStrategy(PROB),
            id="nulls",
        ),
        pytest.param(
            {"operationSampling": {"perOperationStrategies": [{"probabilisticSampling": {}}]}},
            SamplingStrategy(
                PROB, operation_sampling=PerOperationStrategies(0.0, 0.0, (OperationStrategy("", 0.0),))
            ),
            id="message-to-dict-omits-defaults",
        ),
        pytest.param(
            {"operationSampling": {"defaultUpperBoundTracesPerSecond": 3}},
            SamplingStrategy(PROB, operation_sampling=PerOperationStrategies(0.0, 0.0, (), 3.0)),
            id="upper-bound",
        ),
    ],
)
def test_from_proto_dict_lenient(d: dict[str, Any], expected: SamplingStrategy) -> None:
    assert from_proto_dict(d) == expected


@pytest.mark.parametrize(
    ("d", "message"),
    [
        pytest.param({"strategyType": "ADAPTIVE"}, "strategyType", id="unknown-enum-name"),
        pytest.param({"strategyType": 2}, "strategyType", id="unknown-enum-number"),
        pytest.param({"strategyType": True}, "strategyType", id="bool-enum"),
        pytest.param({"probabilisticSampling": 0.5}, "probabilisticSampling", id="not-an-object"),
        pytest.param({"probabilisticSampling": {"samplingRate": "x"}}, "samplingRate", id="bad-double"),
        pytest.param(
            {"rateLimitingSampling": {"maxTracesPerSecond": 1.5}}, "maxTracesPerSecond", id="bad-int"
        ),
        pytest.param(
            {"operationSampling": {"perOperationStrategies": {}}}, "perOperationStrategies", id="bad-list"
        ),
        pytest.param(
            {"operationSampling": {"perOperationStrategies": [{"operation": "a"}]}},
            r"perOperationStrategies\[0\].probabilisticSampling",
            id="operation-without-rate",
        ),
        pytest.param(
            {"operationSampling": {"perOperationStrategies": [{"operation": 1}]}},
            r"perOperationStrategies\[0\].operation",
            id="operation-name",
        ),
    ],
)
def test_from_proto_dict_errors(d: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_proto_dict(d)
