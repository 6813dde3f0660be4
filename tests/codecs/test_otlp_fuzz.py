"""Fuzz both OTLP codecs from the captured payloads: decode returns spans or raises DecodeError.

Deterministic (fixed seed) and bounded in time; a failure prints the offending input in hex.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.otel_translate import DecodeResult
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_json import decode_export_json
from pyjaeger.model import MAX_SPAN_ID, MAX_TRACE_ID, Span

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
SEED = 0x07_1A_E6_E5
MUTATIONS = 3000  # per codec
BUDGET_S = 1.0  # per codec; the count is reached well within it on a normal machine


def rich_request() -> bytes:
    """A seed with what the captures lack: compound values, bytes, links, status, trace state."""
    arr = common_pb2.AnyValue(
        array_value=common_pb2.ArrayValue(
            values=[common_pb2.AnyValue(string_value="a"), common_pb2.AnyValue(double_value=0.5)]
        )
    )
    kvl = common_pb2.AnyValue(
        kvlist_value=common_pb2.KeyValueList(
            values=[
                common_pb2.KeyValue(key="k", value=arr),
                common_pb2.KeyValue(key="b", value=common_pb2.AnyValue(bytes_value=b"\x00\x01")),
            ]
        )
    )
    span = trace_pb2.Span(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        parent_span_id=bytes(range(2, 10)),
        trace_state="a=b",
        name="rich",
        kind=trace_pb2.Span.SPAN_KIND_PRODUCER,
        start_time_unix_nano=10**18,
        end_time_unix_nano=10**18 + 12345,
        attributes=[
            common_pb2.KeyValue(key="map", value=kvl),
            common_pb2.KeyValue(key="bin", value=common_pb2.AnyValue(bytes_value=b"\xff")),
            common_pb2.KeyValue(key="flag", value=common_pb2.AnyValue(bool_value=True)),
        ],
        events=[trace_pb2.Span.Event(time_unix_nano=10**18 + 1, name="e", attributes=[])],
        links=[
            trace_pb2.Span.Link(
                trace_id=bytes(range(1, 17)),
                span_id=bytes(range(3, 11)),
                attributes=[
                    common_pb2.KeyValue(
                        key="opentracing.ref_type", value=common_pb2.AnyValue(string_value="child_of")
                    )
                ],
            )
        ],
        status=trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_ERROR, message="m"),
        flags=0x301,
    )
    rs = trace_pb2.ResourceSpans(scope_spans=[trace_pb2.ScopeSpans(spans=[span])])
    return bytes(trace_service_pb2.ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString())


PROTO_SEEDS = [p.read_bytes() for p in sorted(CAPTURES.glob("otel-otlp-*.bin"))] + [rich_request()]


def to_json_doc(proto: bytes) -> Any:
    req = trace_service_pb2.ExportTraceServiceRequest()
    req.ParseFromString(proto)
    doc = json_format.MessageToDict(req, use_integers_for_enums=True)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in node:
                    node[key] = base64.b64decode(node[key]).hex()
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(doc)
    return doc


JSON_SEEDS = [to_json_doc(p) for p in PROTO_SEEDS]
# Replacement values that hit every type check: wrong JSON types, odd strings, edge numbers.
JSON_POOL: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**64, -(2**63) - 1, "", "x", "00", "0" * 32, "F" * 16, "ab" * 20,
    "12", "-3", "NaN", "Infinity", "AQ==", "SPAN_KIND_SERVER", [], [1], {}, {"stringValue": 1},
    {"arrayValue": {"values": [{}]}}, {"kvlistValue": {"values": [{"key": "k"}]}}, {"key": "k"},
]  # fmt: skip


def mutate_json(rng: random.Random, doc: Any) -> bytes:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        # Walk to a random container, then replace, drop or rename one of its entries.
        node = doc
        for _ in range(rng.randint(0, 12)):
            children = list(node.values()) if isinstance(node, dict) else node
            children = [c for c in children if isinstance(c, (dict, list)) and c]
            if not children:
                break
            node = rng.choice(children)
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            action = rng.randrange(3)
            if action == 0:
                node[key] = copy.deepcopy(rng.choice(JSON_POOL))
            elif action == 1:
                del node[key]
            else:
                node[key.replace("Id", "_id").replace("Value", "_value") + rng.choice(("", "x"))] = node.pop(
                    key
                )
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(JSON_POOL))
    return json.dumps(doc).encode()  # not orjson: it refuses the out-of-range integers in the pool


def check(decode: Callable[[bytes], DecodeResult], data: bytes) -> bool:
    """True when decoded, False on DecodeError; anything else fails the test with the input."""
    try:
        result = decode(data)
    except DecodeError:
        return False
    except Exception as e:  # anything but DecodeError is the bug this test looks for
        pytest.fail(f"{decode.__name__} raised {type(e).__name__}: {e} on input {data.hex()}")
    assert isinstance(result, DecodeResult)
    assert result.rejected >= 0 and bool(result.error_message) == bool(result.rejected)
    for span in result.spans:
        assert isinstance(span, Span)
        assert 0 < span.trace_id <= MAX_TRACE_ID and 0 < span.span_id <= MAX_SPAN_ID
        assert span.duration >= 0 and span.start_time >= 0
        assert all(isinstance(kv.key, str) for kv in span.tags)
    return True


def run(mutate: Callable[[random.Random], bytes], decode: Callable[[bytes], DecodeResult]) -> tuple[int, int]:
    rng = random.Random(SEED)
    deadline = time.monotonic() + BUDGET_S
    done = decoded = 0
    while done < MUTATIONS and time.monotonic() < deadline:
        decoded += check(decode, mutate(rng))
        done += 1
    return done, decoded


def test_seeds_decode() -> None:
    for proto, doc in zip(PROTO_SEEDS, JSON_SEEDS, strict=True):
        assert decode_export_request(proto) == decode_export_json(orjson.dumps(doc))


def test_fuzz_protobuf(mutate_bytes: Any) -> None:
    done, decoded = run(
        lambda rng: mutate_bytes(rng, rng.choice(PROTO_SEEDS), PROTO_SEEDS), decode_export_request
    )
    assert done >= 300 and 0 < decoded < done  # both outcomes were exercised


def test_fuzz_json(mutate_bytes: Any) -> None:
    text_seeds = [orjson.dumps(doc) for doc in JSON_SEEDS]

    def mutate(rng: random.Random) -> bytes:
        if rng.random() < 0.25:
            return mutate_bytes(rng, rng.choice(text_seeds), text_seeds)
        return mutate_json(rng, rng.choice(JSON_SEEDS))

    done, decoded = run(mutate, decode_export_json)
    assert done >= 300 and 0 < decoded < done
