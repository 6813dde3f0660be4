"""Fuzz the Jaeger Thrift codec from the captured payloads: decode returns spans or raises DecodeError.

Deterministic (fixed seed) and bounded in time; a failure prints the offending input in hex. Both
decoders see every mutation, so each also meets the other's format, and the pure-Python fallback
gets a share too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyjaeger.codecs import thrift_wire
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.jaeger_thrift import (
    decode_batch,
    encode_agent_message,
    encode_batch,
)
from pyjaeger.model import (
    MAX_SPAN_ID,
    MAX_TRACE_ID,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
SEED = 0x7A_E6_E5
MUTATIONS = 30_000  # per decoder
BUDGET_S = 0.4  # per decoder: about 2 s in all; a slow machine stops at the budget instead
PURE_MUTATIONS = 2_000  # the pure-Python path is ten times slower

_VALUE_CLASSES: dict[ValueType, type | tuple[type, ...]] = {
    ValueType.STRING: str,
    ValueType.BOOL: bool,
    ValueType.INT64: int,
    ValueType.FLOAT64: float,
    ValueType.BINARY: bytes,
}


def rich_spans() -> list[Span]:
    """What the captures lack: every tag type, binary values, FOLLOWS_FROM, cross-trace refs."""
    process = Process(
        "rich", [KeyValue("client-uuid", ValueType.STRING, "u"), KeyValue("n", ValueType.INT64, -1)]
    )
    trace = (0xFEDCBA9876543210 << 64) | 0xF000000000000001
    kvs = [
        KeyValue("s", ValueType.STRING, "é"),
        KeyValue("b", ValueType.BOOL, True),
        KeyValue("i", ValueType.INT64, -(2**63)),
        KeyValue("f", ValueType.FLOAT64, 0.25),
        KeyValue("x", ValueType.BINARY, b"\0\xff"),
    ]
    refs = [SpanRef(SpanRefType.FOLLOWS_FROM, trace, 9), SpanRef(SpanRefType.CHILD_OF, 5, 0xFFFFFFFFFFFFFFFF)]
    return [
        Span(trace, 0x8000000000000000, "a", refs, 0x80000001, 10, 20, kvs, [Log(11, kvs[:3])], process),
        Span(trace, 2, "b", [SpanRef(SpanRefType.CHILD_OF, trace, 9)], 1, 12, 1, kvs[3:], [], process),
    ]


MESSAGE_SEEDS = [
    (CAPTURES / name).read_bytes()
    for name in (
        "py-jaeger-client-4.8.0_udp6831_compact.bin",
        "otel-jaeger-thrift-agent_udp6831_compact.bin",
        "node-jaeger-client-3.19.0_udp6832_binary.bin",
    )
] + [encode_agent_message(rich_spans(), "compact"), encode_agent_message(rich_spans(), "binary")]
BATCH_SEEDS = [
    (CAPTURES / "otel-jaeger-thrift-collector_http14268_binary-batch.bin").read_bytes(),
    encode_batch(rich_spans()),
]


# Bytes that are field headers, list headers, varint continuations, lengths, STOP.
THRIFT_BYTES = (0x00, 0x01, 0x0F, 0x19, 0x1C, 0x7F, 0x80, 0xFF)


def check(decode: Callable[[bytes], list[Span]], data: bytes) -> bool:
    """True when decoded, False on DecodeError; anything else fails the test with the input."""
    try:
        spans = decode(data)
    except DecodeError:
        return False
    except Exception as e:  # anything but DecodeError is the bug this test looks for
        pytest.fail(f"{decode.__name__} raised {type(e).__name__}: {e} on input {data.hex()}")
    assert isinstance(spans, list)
    for span in spans:
        assert isinstance(span, Span) and span.process is spans[0].process
        assert 0 <= span.trace_id <= MAX_TRACE_ID and 0 <= span.span_id <= MAX_SPAN_ID
        assert 0 <= span.flags <= 0xFFFFFFFF
        assert isinstance(span.operation_name, str) and isinstance(span.process.service_name, str)
        assert all(0 <= r.span_id <= MAX_SPAN_ID and 0 <= r.trace_id <= MAX_TRACE_ID for r in span.references)
        kvs = span.tags + span.process.tags + [f for log in span.logs for f in log.fields]
        for kv in kvs:
            assert isinstance(kv.key, str) and isinstance(kv.value, _VALUE_CLASSES[kv.v_type])
    return True


def run(
    mutate_bytes: Any, decode: Callable[[bytes], list[Span]], seeds: list[bytes], count: int
) -> tuple[int, int]:
    rng = random.Random(SEED)
    deadline = time.monotonic() + BUDGET_S
    done = decoded = 0
    while done < count and time.monotonic() < deadline:
        decoded += check(decode, mutate_bytes(rng, rng.choice(seeds), seeds, THRIFT_BYTES))
        done += 1
    return done, decoded


def test_seeds_decode() -> None:
    for data in MESSAGE_SEEDS:
        assert decode_agent_message(data)
    for data in BATCH_SEEDS:
        assert decode_batch(data)
    assert decode_agent_message(MESSAGE_SEEDS[-1]) == decode_batch(BATCH_SEEDS[-1]) == rich_spans()


@pytest.mark.parametrize(
    ("decode", "seeds"),
    [
        (decode_agent_message, MESSAGE_SEEDS),
        (decode_batch, BATCH_SEEDS),
        (decode_agent_message, BATCH_SEEDS + MESSAGE_SEEDS),
        (decode_batch, MESSAGE_SEEDS),
    ],
    ids=["messages", "batches", "message-decoder-mixed", "batch-decoder-on-messages"],
)
def test_mutations_decode_or_raise_decode_error(
    decode: Callable[[bytes], list[Span]], seeds: list[bytes], mutate_bytes: Any
) -> None:
    done, decoded = run(mutate_bytes, decode, seeds, MUTATIONS)
    assert done >= 200  # even a slow machine gets through a meaningful number
    if seeds is not MESSAGE_SEEDS or decode is decode_agent_message:
        assert decoded  # some mutations (in values, skipped fields) still decode


def test_pure_python_path_too(monkeypatch: pytest.MonkeyPatch, mutate_bytes: Any) -> None:
    monkeypatch.setattr(thrift_wire, "_fast", None)
    done, _ = run(mutate_bytes, decode_agent_message, MESSAGE_SEEDS, PURE_MUTATIONS)
    assert done >= 50
    done, _ = run(mutate_bytes, decode_batch, BATCH_SEEDS, PURE_MUTATIONS)
    assert done >= 50


def test_random_bytes() -> None:
    rng = random.Random(SEED)
    for _ in range(2000):
        data = rng.randbytes(rng.randint(0, 64))
        if rng.random() < 0.5:
            data = (
                rng.choice(
                    (b"\x82\x81\x00\x09emitBatch", b"\x80\x01\x00\x04\x00\x00\x00\x09emitBatch\0\0\0\0")
                )
                + data
            )
        check(decode_agent_message, data)
        check(decode_batch, data)
