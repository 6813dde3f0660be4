"""Micro-benchmark: OTLP protobuf and OTLP/JSON decode to the model, in spans per second.

Batches of 100 spans, each with 8 attributes (strings, ints, a bool, a double) and one event.
The baseline measured in the same run is upb's bare `ExportTraceServiceRequest.ParseFromString`,
so the ratio says how much the Python conversion costs on top of parsing.

    /tmp/venv/bin/python bench/codec_otlp.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import base64
import gc
import time
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.codecs.otlp_json import decode_export_json
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = ["make_batch", "main"]

BATCH = 100


def make_batch(n: int = BATCH) -> list[Span]:
    process = Process(
        "bench-service",
        [
            KeyValue("telemetry.sdk.language", ValueType.STRING, "python"),
            KeyValue("host.name", ValueType.STRING, "bench-host"),
        ],
    )
    trace_id = 0x0123456789ABCDEF0123456789ABCDEF
    spans = []
    for i in range(n):
        start = 1_700_000_000_000_000 + i * 10
        tags = [
            KeyValue("otel.scope.name", ValueType.STRING, "bench"),
            KeyValue("http.method", ValueType.STRING, "GET"),
            KeyValue("http.url", ValueType.STRING, f"https://example.com/api/items/{i}"),
            KeyValue("http.status_code", ValueType.INT64, 200),
            KeyValue("net.peer.port", ValueType.INT64, 443),
            KeyValue("db.system", ValueType.STRING, "postgresql"),
            KeyValue("db.statement", ValueType.STRING, "SELECT * FROM items WHERE id = $1"),
            KeyValue("cache.hit", ValueType.BOOL, i % 2 == 0),
            KeyValue("ratio", ValueType.FLOAT64, i / 7),
            KeyValue("span.kind", ValueType.STRING, "server"),
        ]
        refs = [SpanRef(SpanRefType.CHILD_OF, trace_id, i)] if i else []
        log = Log(
            start + 3,
            [KeyValue("event", ValueType.STRING, "cache-lookup"), KeyValue("n", ValueType.INT64, i)],
        )
        spans.append(Span(trace_id, i + 1, f"op-{i % 5}", refs, 1, start, 7, tags, [log], process))
    return spans


def to_otlp_json(proto_bytes: bytes) -> bytes:
    """OTLP/JSON for a request: protobuf's JSON mapping with ids re-encoded as hex, per OTLP."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    req.ParseFromString(proto_bytes)
    doc = json_format.MessageToDict(req)

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
    return orjson.dumps(doc)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Batches per second over about `seconds`, after a short warm-up."""
    for _ in range(20):
        fn()
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(20):
            fn()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    proto = encode_export_request(make_batch())
    body = to_otlp_json(proto)
    assert len(decode_export_request(proto).spans) == BATCH
    assert decode_export_json(body).spans == decode_export_request(proto).spans

    def parse_only() -> None:
        trace_service_pb2.ExportTraceServiceRequest().ParseFromString(proto)

    base = rate(parse_only, args.seconds) * BATCH
    pb = rate(lambda: decode_export_request(proto), args.seconds) * BATCH
    js = rate(lambda: decode_export_json(body), args.seconds) * BATCH
    # The cyclic GC scans the freshly built spans; a server may tune it, so show its share.
    gc.disable()
    try:
        pb_nogc = rate(lambda: decode_export_request(proto), args.seconds) * BATCH
    finally:
        gc.enable()
    print(f"payload: {BATCH} spans x 8 attributes + 1 event; proto {len(proto)} B, json {len(body)} B")
    print(f"baseline ParseFromString : {base:12,.0f} spans/s")
    print(f"decode_export_request    : {pb:12,.0f} spans/s  ({base / pb:.1f}x slower than bare parse)")
    print(f"  ... with the GC paused : {pb_nogc:12,.0f} spans/s  ({base / pb_nogc:.1f}x)")
    print(f"decode_export_json       : {js:12,.0f} spans/s  ({base / js:.1f}x slower than bare parse)")


if __name__ == "__main__":
    main()
