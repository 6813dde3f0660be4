"""Fuzz every span codec with the whole pipeline as the oracle.

Mutants of captured real payloads (byte flips, cuts, splices; in JSON, lone surrogates, invalid
UTF-8, numbers past int64, deep nesting) go through decode -> the collector's intake (the limits
screen and its metrics) -> every storage backend given -> the query service -> the query API's
JSON -> the Prometheus exposition. Any exception but the codec's declared `DecodeError` is a
finding: the input that caused it is printed in hex.

    python bench/fuzz_pipeline.py --count 20000 [--codec zipkin-v1-json] [--seed 7]

The test suite runs the same code with a small count (tests/test_pipeline_fuzz.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from prometheus_client import CollectorRegistry, generate_latest

from pyjaeger.codecs.agent_thrift import decode_agent_datagram
from pyjaeger.codecs.api_v2 import decode_post_spans
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.jaeger_thrift import decode_batch
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_json import decode_export_json
from pyjaeger.codecs.query_json import dumps, envelope, trace_to_dict
from pyjaeger.codecs.zipkin_translate import zipkin_to_spans
from pyjaeger.codecs.zipkin_v1_json import decode_v1_json
from pyjaeger.codecs.zipkin_v1_thrift import decode_v1_thrift
from pyjaeger.codecs.zipkin_v2 import decode_v2_json, decode_v2_proto
from pyjaeger.collector.processor import SpanProcessor
from pyjaeger.idl.api_v2 import collector_pb2
from pyjaeger.idl.zipkin import zipkin_pb2
from pyjaeger.metrics import CollectorMetrics
from pyjaeger.model import Span, Trace
from pyjaeger.query.service import QueryService
from pyjaeger.storage.base import DependencyReader, SpanReader, SpanWriter, TraceQuery

__all__ = ["CODECS", "Codec", "Store", "Findings", "fuzz", "memory_and_sqlite", "mutate_bytes"]

CAPTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "captures"

Decode = Callable[[bytes], list[Span]]


@dataclass(frozen=True, slots=True)
class Codec:
    name: str
    fmt: str  # the `format` label the collector gives its spans
    decode: Decode
    seeds: Callable[[], list[bytes]]
    json: bool = False  # text mutations apply


def _captures(pattern: str) -> Callable[[], list[bytes]]:
    return lambda: [p.read_bytes() for p in sorted(CAPTURES.glob(pattern))]


def _otlp_json_seeds() -> list[bytes]:
    out = []
    for proto in _captures("otel-otlp-*.bin")():
        req = trace_service_pb2.ExportTraceServiceRequest()
        req.ParseFromString(proto)
        doc = json_format.MessageToDict(req, use_integers_for_enums=True)
        out.append(re.sub(rb'"(traceId|spanId|parentSpanId)": ?"([^"]*)"', _hex_id, orjson.dumps(doc)))
    return out


def _hex_id(m: re.Match[bytes]) -> bytes:
    return b'"' + m.group(1) + b'":"' + base64.b64decode(m.group(2)).hex().encode() + b'"'


def _api_v2_seeds() -> list[bytes]:
    seeds = _captures("otel-jaeger-proto-grpc_*.bin")()
    # Times that overflow int64 µs once multiplied: seconds of 2^62.
    req = collector_pb2.PostSpansRequest()
    req.ParseFromString(seeds[0])
    for span in req.batch.spans:
        span.start_time.seconds = 1 << 62
        break
    return [*seeds, req.SerializeToString()]


def _zipkin_proto_seeds() -> list[bytes]:
    seeds = _captures("otel-zipkin-proto_*.bin")()
    msg = zipkin_pb2.ListOfSpans()
    msg.ParseFromString(seeds[0])
    msg.spans[0].timestamp = (1 << 64) - 1
    msg.spans[-1].duration = (1 << 64) - 1
    return [*seeds, msg.SerializeToString()]


def _agent(data: bytes) -> list[Span]:
    return decode_agent_datagram(data)[1]


def _otlp(data: bytes) -> list[Span]:
    return decode_export_request(data).spans


def _otlp_json(data: bytes) -> list[Span]:
    return decode_export_json(data).spans


def _zipkin(decode: Callable[[bytes], list[Any]]) -> Decode:
    return lambda data: zipkin_to_spans(decode(data))


CODECS: dict[str, Codec] = {
    c.name: c
    for c in (
        Codec("jaeger-agent", "jaeger", _agent, _captures("*udp68*.bin")),
        Codec("jaeger-batch", "jaeger", decode_batch, _captures("*http14268_binary-batch.bin")),
        Codec("api-v2", "proto", decode_post_spans, _api_v2_seeds),
        Codec("otlp-proto", "otlp", _otlp, _captures("otel-otlp-*.bin")),
        Codec("otlp-json", "otlp", _otlp_json, _otlp_json_seeds, json=True),
        Codec("zipkin-v1-json", "zipkin", _zipkin(decode_v1_json), _captures("*_v1*.json"), json=True),
        Codec("zipkin-v1-thrift", "zipkin", _zipkin(decode_v1_thrift), _captures("*v1_thrift-list.bin")),
        Codec("zipkin-v2-json", "zipkin", _zipkin(decode_v2_json), _captures("*zipkin*v2*.json"), json=True),
        Codec("zipkin-v2-proto", "zipkin", _zipkin(decode_v2_proto), _zipkin_proto_seeds),
    )
}

# What a hostile JSON client puts in strings and numbers.
_BAD_STRINGS = [
    b"\\udc00",
    b"\\ud800x",
    b"\xed\xa0\x80",
    b"\xff\xfe",
    b"\\u0000",
    b"a" * 40_000,
    b"\\ud83d\\ude00",
]
_BAD_NUMBERS = [b"1e30", b"18446744073709551616", b"9223372036854775808", b"-9223372036854775809", b"1e308",
                b"-1", b"0.5", b"1.5e-7", b"4611686018427387904000000"]  # fmt: skip
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NUMBER = re.compile(rb"(?<=[:\[,])\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF)  # bytes worth putting anywhere


def mutate(rng: random.Random, data: bytes, seeds: Sequence[bytes], json: bool) -> bytes:
    if json and rng.random() < 0.6:
        return _mutate_json(rng, data)
    return mutate_bytes(rng, data, seeds)


def mutate_bytes(
    rng: random.Random, data: bytes, seeds: Sequence[bytes], interesting: Sequence[int] = INTERESTING
) -> bytes:
    """One to four of: a bit flip, an interesting byte, a cut, a repeat, a truncation, random
    bytes inserted, the tail of another seed spliced on. The codec fuzz tests use it too."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf.extend(rng.randbytes(rng.randint(1, 8)))
            continue
        op = rng.randrange(7)
        pos = rng.randrange(len(buf))
        if op == 0:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos] = rng.choice((*interesting, rng.randrange(256)))
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 16)]
        elif op == 3:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 32)]
        elif op == 4:
            del buf[pos:]
        elif op == 5:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        else:
            other = rng.choice(seeds)
            buf[pos:] = other[rng.randrange(len(other)) :]
    return bytes(buf)


def _mutate_json(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(10)
    if op == 0:  # nesting deeper than any parser goes
        depth = rng.choice((100, 1500, 100_000))
        return b"[" * depth + data + b"]" * depth
    spans = list((_STRING if op < 6 else _NUMBER).finditer(data))
    if not spans:
        return data
    for m in rng.sample(spans, min(len(spans), rng.randint(1, 3))):
        new = b'"' + rng.choice(_BAD_STRINGS) + b'"' if op < 6 else rng.choice(_BAD_NUMBERS)
        data = data[: m.start()] + new + data[m.end() :]
        break  # offsets past the first replacement moved: one per mutant
    return data


@dataclass(slots=True)
class Store:
    name: str
    writer: SpanWriter
    reader: SpanReader
    deps: DependencyReader
    settle: Callable[[], Awaitable[None]] | None = None  # makes writes readable (ES refresh)


@dataclass(slots=True)
class Findings:
    mutants: int = 0
    decoded: int = 0
    spans: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, data: bytes | None, e: BaseException) -> None:
        where = f" on input {data.hex()}" if data is not None and len(data) < 4096 else ""
        self.problems.append(f"{what}: {type(e).__name__}: {e}{where}")


class _Fanout(SpanWriter):
    """Writes every batch to each store and records (rather than hides) what any of them raises."""

    def __init__(self, stores: Sequence[Store], findings: Findings) -> None:
        self.stores = stores
        self.findings = findings

    async def write_spans(self, spans: Sequence[Span]) -> None:
        for store in self.stores:
            try:
                await store.writer.write_spans(spans)
            except Exception as e:
                self.findings.add(f"{store.name} write of {len(spans)} spans", None, e)


async def fuzz(
    codec: Codec, count: int, seed: int, stores: Sequence[Store], budget_s: float = 1e9
) -> Findings:
    """`count` mutants of `codec`'s seeds (fewer if `budget_s` runs out) through the pipeline."""
    findings = Findings()
    seeds = codec.seeds()
    assert seeds, f"no seed payloads for {codec.name}"
    rng = random.Random(seed)
    registry = CollectorRegistry()
    processor = SpanProcessor(
        _Fanout(stores, findings), CollectorMetrics(registry), queue_size=10**9, num_workers=1
    )
    await processor.start()
    traces: dict[int, None] = {}
    deadline = time.monotonic() + budget_s
    # The seeds first, as they are: a codec whose real payloads fail is found at once.
    inputs = [*seeds, *(mutate(rng, rng.choice(seeds), seeds, codec.json) for _ in range(count))]
    for data in inputs:
        if time.monotonic() > deadline:
            break
        findings.mutants += 1
        try:
            spans = codec.decode(data)
        except DecodeError:
            continue
        except Exception as e:
            findings.add(f"{codec.name} decode", data, e)
            continue
        findings.decoded += 1
        try:
            screened = processor.take(spans, codec.fmt, "http")
            json_of_spans(screened.spans)
        except Exception as e:
            findings.add("intake", data, e)
            continue
        findings.spans += len(screened.spans)
        findings.rejected += screened.rejected
        for span in screened.spans:
            traces[span.trace_id] = None
        if len(traces) > 2000:  # bounded memory in long runs: the oldest are read back now
            await _read_back(stores, list(traces)[:1000], findings)
            for tid in list(traces)[:1000]:
                del traces[tid]
        await asyncio.sleep(0)  # let the processor's worker write
    await processor.stop(timeout=60)
    await _read_back(stores, list(traces), findings)
    try:
        generate_latest(registry).decode("utf-8")
    except Exception as e:
        findings.add("/metrics exposition", None, e)
    return findings


def json_of_spans(spans: Sequence[Span]) -> None:
    """What the query API would render of these spans alone (before any store)."""
    if spans:
        dumps(trace_to_dict(Trace(list(spans))))


async def _read_back(stores: Sequence[Store], trace_ids: list[int], findings: Findings) -> None:
    for store in stores:
        if store.settle is not None:
            await store.settle()
        service = QueryService(store.reader, store.deps)
        try:
            names = await service.get_services()
            dumps(envelope(names, total=len(names)))
            for name in names[:50]:
                ops = await service.get_operations(name)
                dumps(envelope([{"name": o.name, "spanKind": o.span_kind} for o in ops]))
                found = await service.find_traces(TraceQuery(service_name=name, num_traces=5))
                dumps(envelope([trace_to_dict(t) for t in found]))
            for tid in trace_ids:
                trace = await service.get_trace(tid)
                if trace is None:
                    continue
                doc = trace_to_dict(trace)
                dumps(envelope([doc]), pretty=True)
                first = trace.spans[0]
                if first.tags:
                    kv = first.tags[0]
                    query = TraceQuery(service_name=first.process.service_name, tags={kv.key: kv.as_string()})
                    await service.find_traces(query)
        except Exception as e:
            findings.add(f"{store.name} read back of {len(trace_ids)} traces", None, e)


async def memory_and_sqlite(folder: Path) -> tuple[list[Store], Callable[[], Awaitable[None]]]:
    from pyjaeger.storage.memory import MemoryStore
    from pyjaeger.storage.sqlite.config import SqliteConfig
    from pyjaeger.storage.sqlite.store import SqliteStore

    memory = MemoryStore(max_traces=10_000)
    sqlite = SqliteStore(SqliteConfig(path=str(folder / "fuzz.db")))
    await sqlite.start()
    stores = [Store("memory", memory, memory, memory), Store("sqlite", sqlite, sqlite, sqlite)]
    return stores, sqlite.close


async def _main(args: argparse.Namespace) -> int:
    names = [args.codec] if args.codec else list(CODECS)
    failed = False
    with tempfile.TemporaryDirectory(prefix="pyjaeger-fuzz-") as folder:
        for name in names:
            stores, close = await memory_and_sqlite(Path(folder) / name)
            t0 = time.monotonic()
            try:
                f = await fuzz(CODECS[name], args.count, args.seed, stores)
            finally:
                await close()
            print(
                f"{name:18} {f.mutants:7} inputs, {f.decoded:7} decoded, {f.spans:8} spans stored,"
                f" {f.rejected:6} refused at intake, {len(f.problems)} problems,"
                f" {time.monotonic() - t0:6.1f} s"
            )
            for problem in f.problems[:20]:
                print("   ", problem[:600])
            failed = failed or bool(f.problems)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="mutants per codec")
    parser.add_argument("--seed", type=int, default=0x14_F0_22)
    parser.add_argument("--codec", choices=list(CODECS), help="one codec only")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
