// Remote sampling strategies as the legacy agent endpoint (`GET /?service=`) serves them.
//
// Written for pyjaeger from the published contract; field ids, types and names are wire facts.

namespace py sampling

enum SamplingStrategyType { PROBABILISTIC = 0, RATE_LIMITING = 1 }

// samplingRate is a probability in (0, 1].
struct ProbabilisticSamplingStrategy {
  1: required double samplingRate
}

// An i16 here, unlike the int32 of the protobuf definition.
struct RateLimitingSamplingStrategy {
  1: required i16 maxTracesPerSecond
}

struct OperationSamplingStrategy {
  1: required string                        operation
  2: required ProbabilisticSamplingStrategy probabilisticSampling
}

// The lower bound applies per service instance and to every operation.
struct PerOperationSamplingStrategies {
  1: required double                          defaultSamplingProbability
  2: required double                          defaultLowerBoundTracesPerSecond
  3: required list<OperationSamplingStrategy> perOperationStrategies
  4: optional double                          defaultUpperBoundTracesPerSecond
}

// A union in practice: when operationSampling is present it wins over strategyType.
struct SamplingStrategyResponse {
  1: required SamplingStrategyType           strategyType
  2: optional ProbabilisticSamplingStrategy  probabilisticSampling
  3: optional RateLimitingSamplingStrategy   rateLimitingSampling
  4: optional PerOperationSamplingStrategies operationSampling
}

service SamplingManager {
  SamplingStrategyResponse getSamplingStrategy(1: string serviceName)
}
