"""Fuzz the api_v2 codec from the captured payload: decode returns spans or raises DecodeError.

Deterministic (fixed seed) and bounded in time; a failure prints the offending input in hex.
Whatever decodes must also survive a re-encode and decode unchanged, since the agent forwards
every span it decodes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from pyjaeger.codecs.api_v2 import decode_post_spans, encode_post_spans
from pyjaeger.codecs.api_v2_sampling import (
    decode_sampling_request,
    decode_sampling_response,
    encode_sampling_request,
    encode_sampling_response,
)
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.idl.api_v2 import collector_pb2, model_pb2
from pyjaeger.model import MAX_SPAN_ID, MAX_TRACE_ID, KeyValue, Log, Process, Span, SpanRef, ValueType

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
SEED = 0xA9_12_00_02
MUTATIONS = 10_000
BUDGET_S = 1.0  # per test; the count is reached well within it on a normal machine
PYTHON_TYPES = {
    ValueType.STRING: str,
    ValueType.BOOL: bool,
    ValueType.INT64: int,
    ValueType.FLOAT64: float,
    ValueType.BINARY: bytes,
}


def rich_request() -> bytes:
    """A seed with what the capture lacks: batch.process, short ids, every type, refs, warnings."""
    odd = model_pb2.KeyValue(key="odd", v_str="?")
    odd.v_type = 7  # type: ignore[assignment]  # an enum number from the future
    kvs = [
        model_pb2.KeyValue(key="s", v_str="x"),
        model_pb2.KeyValue(key="b", v_type=model_pb2.BOOL, v_bool=True),
        model_pb2.KeyValue(key="i", v_type=model_pb2.INT64, v_int64=-(2**63)),
        model_pb2.KeyValue(key="f", v_type=model_pb2.FLOAT64, v_float64=2.5),
        model_pb2.KeyValue(key="bin", v_type=model_pb2.BINARY, v_binary=b"\x00\xff"),
        odd,
    ]
    tid16, tid8 = bytes(range(1, 17)), bytes(range(1, 9))
    spans = [
        model_pb2.Span(
            trace_id=tid16,
            span_id=bytes(range(2, 10)),
            operation_name="rich",
            references=[
                model_pb2.SpanRef(trace_id=tid16, span_id=bytes(range(3, 11))),
                model_pb2.SpanRef(trace_id=tid8, span_id=bytes(8), ref_type=model_pb2.FOLLOWS_FROM),
            ],
            flags=3,
            start_time=timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=123_456_789),
            duration=duration_pb2.Duration(seconds=2, nanos=5),
            tags=kvs,
            logs=[model_pb2.Log(timestamp=timestamp_pb2.Timestamp(seconds=1_700_000_001), fields=kvs)],
            process_id="p1",
            warnings=["w"],
        ),
        model_pb2.Span(
            trace_id=tid8,
            span_id=bytes(range(4, 12)),
            operation_name="own process",
            process=model_pb2.Process(service_name="other", tags=kvs),
        ),
    ]
    batch = model_pb2.Batch(spans=spans, process=model_pb2.Process(service_name="svc", tags=kvs[:3]))
    return collector_pb2.PostSpansRequest(batch=batch).SerializeToString()


SEEDS = [(CAPTURES / "otel-jaeger-proto-grpc_PostSpansRequest.bin").read_bytes(), rich_request()]
SAMPLING_SEEDS = [
    encode_sampling_request("frontend"),
    encode_sampling_response(
        {"strategyType": "RATE_LIMITING", "rateLimitingSampling": {"maxTracesPerSecond": 9}}
    ),
    encode_sampling_response(
        {
            "strategyType": "PROBABILISTIC",
            "probabilisticSampling": {"samplingRate": 0.5},
            "operationSampling": {
                "defaultSamplingProbability": 0.5,
                "defaultLowerBoundTracesPerSecond": 1.0,
                "perOperationStrategies": [
                    {"operation": "op", "probabilisticSampling": {"samplingRate": 1.0}}
                ],
                "defaultUpperBoundTracesPerSecond": 2.0,
            },
        }
    ),
]


# Values that sit on the edges the decoder handles: id lengths, enum numbers, times.
ID_LENGTHS = (0, 1, 7, 8, 8, 9, 15, 16, 16, 17)
ENUMS = (-1, 0, 1, 2, 3, 4, 5, 2**31 - 1)
SECONDS = (0, -1, 1, 2**40, -(2**40), 253402300799, -62135596800, 2**63 - 1, -(2**63))
NANOS = (0, -1, 1, 999, 999_999_999, 1_000_000_000, 2**31 - 1, -(2**31))


def mutate_message(rng: random.Random, seeds: list[bytes]) -> bytes:
    """Change one field of a parsed seed: bytes mutations rarely get past the id checks."""
    req = collector_pb2.PostSpansRequest()
    req.ParseFromString(rng.choice(seeds))
    batch = req.batch
    for _ in range(rng.randint(1, 3)):
        span = rng.choice(batch.spans)
        kvs = [*span.tags, *span.process.tags, *batch.process.tags]
        for log in span.logs:
            kvs += log.fields
        op = rng.randrange(9)
        if op == 0:
            span.trace_id = rng.randbytes(rng.choice(ID_LENGTHS))
        elif op == 1:
            span.span_id = rng.randbytes(rng.choice(ID_LENGTHS))
        elif op == 2 and span.references:
            ref = rng.choice(span.references)
            ref.trace_id = rng.randbytes(rng.choice(ID_LENGTHS))
            ref.ref_type = rng.choice(ENUMS)  # type: ignore[assignment]
        elif op == 3 and kvs:
            rng.choice(kvs).v_type = rng.choice(ENUMS)  # type: ignore[assignment]
        elif op == 4:
            times: list[timestamp_pb2.Timestamp | duration_pb2.Duration] = [span.start_time, span.duration]
            times += [log.timestamp for log in span.logs]
            time_field = rng.choice(times)
            time_field.seconds = rng.choice(SECONDS)
            time_field.nanos = rng.choice(NANOS)
        elif op == 5:
            span.ClearField(rng.choice(("process", "references", "tags", "logs", "warnings")))
        elif op == 6:
            batch.ClearField("process") if rng.random() < 0.5 else batch.process.SetInParent()
        elif op == 7:
            batch.spans.add().CopyFrom(span)
        else:
            span.flags = rng.choice((0, 1, 2**32 - 1))
    return req.SerializeToString()


def mutate(rng: random.Random, seeds: list[bytes], mutate_bytes: Any) -> bytes:
    if seeds is SEEDS and rng.random() < 0.5:
        return mutate_message(rng, seeds)
    return bytes(mutate_bytes(rng, rng.choice(seeds), seeds))


def check_spans(data: bytes) -> bool:
    """True when decoded, False on DecodeError; anything else fails the test with the input."""
    try:
        spans = decode_post_spans(data)
    except DecodeError:
        return False
    except Exception as e:  # anything but DecodeError is the bug this test looks for
        pytest.fail(f"decode_post_spans raised {type(e).__name__}: {e} on input {data.hex()}")
    for span in spans:
        assert isinstance(span, Span) and isinstance(span.process, Process)
        assert 0 <= span.trace_id <= MAX_TRACE_ID and 0 <= span.span_id <= MAX_SPAN_ID
        assert all(isinstance(r, SpanRef) and r.trace_id <= MAX_TRACE_ID for r in span.references)
        kvs: list[KeyValue] = [*span.tags, *span.process.tags]
        for log in span.logs:
            assert isinstance(log, Log) and isinstance(log.timestamp, int)
            kvs += log.fields
        for kv in kvs:
            assert type(kv.value) is PYTHON_TYPES[kv.v_type], (kv, data.hex())
    # Bytes, not spans, are compared: a mutated double may be a NaN, which equals nothing.
    try:
        again = encode_post_spans(spans)
    except ValueError:
        # Only a time whose seconds leave int64 (un-normalized nanos at the very edge) may refuse.
        times = [t for s in spans for t in (s.start_time, s.duration, *(log.timestamp for log in s.logs))]
        assert any(abs(t) >= (2**63 - 1) * 10**6 for t in times), data.hex()
        return True
    assert encode_post_spans(decode_post_spans(again)) == again, data.hex()
    return True


def check_sampling(data: bytes) -> bool:
    ok = False
    for decode in (decode_sampling_request, decode_sampling_response):
        try:
            decode(data)
            ok = True
        except DecodeError:
            pass
        except Exception as e:
            pytest.fail(f"{decode.__name__} raised {type(e).__name__}: {e} on input {data.hex()}")
    return ok


def run(
    check: Callable[[bytes], bool], seeds: list[bytes], mutate_bytes: Any, budget_s: float = BUDGET_S
) -> tuple[int, int]:
    rng = random.Random(SEED)
    deadline = time.monotonic() + budget_s
    done = decoded = 0
    while done < MUTATIONS and time.monotonic() < deadline:
        decoded += check(mutate(rng, seeds, mutate_bytes))
        done += 1
    return done, decoded


def test_seeds_decode() -> None:
    for seed in SEEDS:
        assert check_spans(seed)
    assert len(decode_post_spans(SEEDS[1])) == 2


def test_fuzz_post_spans(mutate_bytes: Any) -> None:
    done, decoded = run(check_spans, SEEDS, mutate_bytes)
    assert done >= 300 and 0 < decoded < done  # both outcomes were exercised


def test_fuzz_sampling(mutate_bytes: Any) -> None:
    done, decoded = run(check_sampling, SAMPLING_SEEDS, mutate_bytes, budget_s=0.3)
    assert done >= 300 and 0 < decoded < done
