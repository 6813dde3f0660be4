"""Micro-benchmark: Jaeger Thrift decode to the model, in spans per second.

emitBatch datagrams of 10 and of 100 spans, each span with 8 tags (strings, ints, a bool, a
double), one log of two fields and a parent, as compact and as binary messages. The baseline
measured in the same run is the bare C decode into the generated Thrift objects (no model), so
the ratio says what the conversion to the model costs on top of parsing.

    /tmp/venv/bin/python bench/codec_thrift.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pyjaeger.codecs import jaeger_thrift, thrift_wire
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.codecs.jaeger_thrift import (
    decode_batch,
    encode_agent_message,
    encode_batch,
)
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = ["make_batch", "main"]

SIZES = (10, 100)


def make_batch(n: int) -> list[Span]:
    """n spans of one 64-bit trace, ids above 2^63 included (negative on the wire)."""
    process = Process(
        "bench-service",
        [
            KeyValue("jaeger.version", ValueType.STRING, "Python-4.8.0"),
            KeyValue("hostname", ValueType.STRING, "bench-host"),
            KeyValue("ip", ValueType.STRING, "192.0.2.7"),
        ],
    )
    trace_id = 0xF123456789ABCDEF
    spans = []
    for i in range(n):
        start = 1_700_000_000_000_000 + i * 10
        tags = [
            KeyValue("http.method", ValueType.STRING, "GET"),
            KeyValue("http.url", ValueType.STRING, f"https://example.com/api/items/{i}"),
            KeyValue("http.status_code", ValueType.INT64, 200),
            KeyValue("net.peer.port", ValueType.INT64, 443),
            KeyValue("db.statement", ValueType.STRING, "SELECT * FROM items WHERE id = $1"),
            KeyValue("cache.hit", ValueType.BOOL, i % 2 == 0),
            KeyValue("ratio", ValueType.FLOAT64, i / 7),
            KeyValue("span.kind", ValueType.STRING, "server"),
        ]
        refs = [SpanRef(SpanRefType.CHILD_OF, trace_id, 0x8000000000000000 + i)] if i else []
        log = Log(
            start + 3,
            [KeyValue("event", ValueType.STRING, "cache-lookup"), KeyValue("n", ValueType.INT64, i)],
        )
        span_id = 0x8000000000000001 + i
        spans.append(Span(trace_id, span_id, f"op-{i % 5}", refs, 1, start, 7, tags, [log], process))
    return spans


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of this thread's CPU time over about `seconds`, after a short warm-up.

    CPU time rather than wall time, so that other work on a shared machine does not count.
    """
    for _ in range(10):
        fn()
    n = 0
    t0 = time.thread_time()
    while True:
        for _ in range(10):
            fn()
        n += 10
        spent = time.thread_time() - t0
        if spent >= seconds:
            return n / spent


def best_of(rows: dict[str, Callable[[], object]], seconds: float, rounds: int = 3) -> dict[str, float]:
    """The best rate of each row over interleaved rounds, so a slow moment hurts no row alone."""
    best = dict.fromkeys(rows, 0.0)
    for _ in range(rounds):
        for label, fn in rows.items():
            best[label] = max(best[label], rate(fn, seconds / rounds))
    return best


def bare_decoder(message: bytes) -> Callable[[], object]:
    """The C decode of a message's arguments into the generated objects: the floor for our decode."""
    envelope = thrift_wire.read_envelope(message, (jaeger_thrift.EMIT_BATCH,))
    fast: Any = thrift_wire._fast
    decode = fast.decode_compact if envelope.compact else fast.decode_binary
    args_cls = jaeger_thrift._Args
    spec = [args_cls, args_cls.thrift_spec]
    source = thrift_wire._Source

    def run() -> object:
        return decode(args_cls(), source(message, envelope.offset), spec)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU time per figure")
    args = parser.parse_args()
    if not thrift_wire.ACCELERATED:
        print("warning: thrift's C extension is missing; decoding runs in pure Python")

    print(f"spans per second of CPU time, one process; {args.seconds:g} s per figure")
    for n in SIZES:
        spans = make_batch(n)
        compact = encode_agent_message(spans, "compact")
        binary = encode_agent_message(spans, "binary")
        batch = encode_batch(spans)
        assert decode_agent_message(compact) == spans == decode_agent_message(binary) == decode_batch(batch)
        print(f"\n{n} spans x (8 tags + 1 log): compact {len(compact)} B, binary {len(binary)} B")
        rows: dict[str, Callable[[], object]] = {
            "bare C decode, compact": bare_decoder(compact),
            "decode_agent_message, compact": partial(decode_agent_message, compact),
            "bare C decode, binary": bare_decoder(binary),
            "decode_agent_message, binary": partial(decode_agent_message, binary),
            "decode_batch (HTTP), binary": partial(decode_batch, batch),
            "encode_agent_message, compact": partial(encode_agent_message, spans),
        }
        results = {label: value * n for label, value in best_of(rows, args.seconds * len(rows)).items()}
        # The cyclic GC scans the freshly built spans; a server may tune it, so show its share.
        gc.disable()
        try:
            nogc = rate(partial(decode_agent_message, compact), args.seconds) * n
        finally:
            gc.enable()
        for label, value in results.items():
            note = ""
            if label.startswith("decode_agent_message"):
                base = results["bare C decode, " + label.rsplit(" ", 1)[1]]
                note = f"  (takes {base / value:.2f}x the bare decode's time)"
            print(f"  {label:32} {value:12,.0f}{note}")
        base = results["bare C decode, compact"]
        print(f"  {'... compact with the GC paused':32} {nogc:12,.0f}  ({base / nogc:.2f}x)")


if __name__ == "__main__":
    main()
