"""Emit one known trace with the real Python jaeger-client (4.8.0) over UDP, then describe it.

Runs inside the Jaeger client venv (tests/clients/requirements-jaeger.txt), never in the
server's environment. jaeger-client reports to the agent's compact-Thrift UDP port (6831) with one
``Agent.emitBatch`` per datagram. Usage::

    python jaeger_client_send.py --agent 127.0.0.1:6831 --service e2e-py
    python jaeger_client_send.py --agent 127.0.0.1:6831 --service svc-a \\
        --sampler remote --sampling-port 5778

The trace (64-bit ids, the client's default), all three spans in one batch:

- ``GET /py`` (root): span.kind (str), http.status_code (int → LONG), e2e.ratio (float →
  DOUBLE), e2e.cached (bool → BOOL), plus the sampler's ``sampler.type``/``sampler.param``
- ``cache lookup`` (child of root): error=True, one log {event: "cache miss", n: 1}
- ``compute`` (child of "cache lookup"), also FOLLOWS_FROM a span of another trace

``--sampler const`` (default) samples everything. ``--sampler remote`` starts with jaeger-client's
RemoteControlledSampler polling ``http://HOST:SAMPLING_PORT/sampling?service=...``; the script
waits until the client adopted a strategy from that answer, then starts root spans (one every
0.25 s, a rate limiter may say no) until one is sampled, and reports the sampler it adopted. The
root span's ``sampler.type``/``sampler.param`` tags are the evidence a server can store.

On success prints one JSON line to stdout (ids as lowercase hex, 16 digits; tags and log fields
as ``[key, jaeger-json-type, value]`` exactly as encoded, times in µs as on the wire) and exits 0; exits 1
when the reporter counted a failed or dropped span, or the remote strategy never arrived.
Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import sys
import threading
import time
from typing import Any

from jaeger_client import Config
from jaeger_client.metrics import MetricsFactory
from jaeger_client.span_context import SpanContext
from jaeger_client.thrift import timestamp_micros
from opentracing import follows_from

ROOT, CHILD, GRANDCHILD = "GET /py", "cache lookup", "compute"
# The span the grandchild follows from: another trace, so it cannot be mistaken for a parent.
LINKED_TRACE_ID = 0x0AF7651916CD43DD
LINKED_SPAN_ID = 0xB7AD6B7169203331
# jaeger.thrift TagType → (type name in Jaeger's JSON, value)
TAG_TYPES = {
    0: lambda t: ("string", t.vStr),
    1: lambda t: ("float64", t.vDouble),
    2: lambda t: ("bool", t.vBool),
    3: lambda t: ("int64", t.vLong),
    4: lambda t: ("binary", t.vBinary.hex()),
}


class CountingMetrics(MetricsFactory):
    """jaeger-client reports success and failure only as metrics; count them to know."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def create_counter(self, name: str, tags: dict[str, str] | None = None) -> Any:
        key = name + "".join(f"|{k}={v}" for k, v in sorted((tags or {}).items()))

        def increment(value: int) -> None:
            with self._lock:
                self.counts[key] += value

        return increment

    def get(self, key: str) -> int:
        with self._lock:
            return self.counts[key]


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def make_config(args: argparse.Namespace, metrics: CountingMetrics) -> Config:
    host, port = args.agent.rsplit(":", 1)
    local_agent: dict[str, Any] = {"reporting_host": host, "reporting_port": int(port)}
    config: dict[str, Any] = {
        "local_agent": local_agent,
        "logging": False,
        # flush only on close, so the three spans travel in one datagram
        "reporter_batch_size": 100,
        "reporter_flush_interval": 60,
        "sampling_refresh_interval": args.sampling_refresh_interval,
        "tags": {"e2e.client": "python"},
    }
    if args.sampler == "remote":
        # No sampler type is how jaeger-client asks for its RemoteControlledSampler (starting as
        # probabilistic 0.001); other clients spell it `type: remote`.
        local_agent["sampling_port"] = args.sampling_port
    else:
        config["sampler"] = {"type": "const", "param": 1}
    return Config(config=config, service_name=args.service, metrics_factory=metrics, validate=True)


def adopted_sampler(tracer: Any) -> dict[str, Any]:
    """What the remote-controlled sampler switched to, from its internals (for the report)."""
    inner = tracer.sampler.sampler
    return {"class": type(inner).__name__, "repr": str(inner)}


def emit(tracer: Any, base: float, attempts: int) -> tuple[Any, Any, Any, int]:
    """Start roots until one is sampled (always the first with a const sampler)."""
    attempt = 1
    while True:
        root = tracer.start_span(
            ROOT,
            tags={"span.kind": "server", "http.status_code": 200, "e2e.ratio": 0.25, "e2e.cached": False},
            start_time=base + 0.000_250,
        )
        if root.is_sampled():
            break
        root.finish()
        if attempt == attempts:
            raise RuntimeError(f"no root span sampled in {attempts} attempts")
        attempt += 1
        time.sleep(0.25)
    child = tracer.start_span(CHILD, child_of=root, start_time=base + 0.001_500)
    child.set_tag("error", True)
    child.log_kv({"event": "cache miss", "n": 1}, timestamp=base + 0.002_750)
    linked = SpanContext(trace_id=LINKED_TRACE_ID, span_id=LINKED_SPAN_ID, parent_id=None, flags=1)
    grandchild = tracer.start_span(
        GRANDCHILD, child_of=child, references=[follows_from(linked)], start_time=base + 0.003_000
    )
    grandchild.finish(finish_time=base + 0.004_500)
    child.finish(finish_time=base + 0.005_000)
    root.finish(finish_time=base + 0.006_250)
    return root, child, grandchild, attempt


def describe(span: Any, parent: Any) -> dict[str, Any]:
    return {
        "span_id": f"{span.span_id:016x}",
        "parent": None if parent is None else parent.operation_name,
        "parent_span_id": None if parent is None else f"{parent.span_id:016x}",
        # exactly what jaeger_client.thrift.make_jaeger_span puts on the wire
        "start_us": timestamp_micros(span.start_time),
        "duration_us": timestamp_micros(span.end_time - span.start_time),
        "tags": typed_tags(span.tags),
        "logs": [{"timestamp_us": log.timestamp, "fields": typed_tags(log.fields)} for log in span.logs],
    }


def typed_tags(tags: list[Any]) -> list[list[Any]]:
    """jaeger.thrift Tags as ``[key, jaeger-json-type, value]``, in the order sent."""
    return [[t.key, *TAG_TYPES[t.vType](t)] for t in tags or []]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="host:port of the compact-Thrift UDP port")
    parser.add_argument("--service", required=True)
    parser.add_argument("--sampler", choices=["const", "remote"], default="const")
    parser.add_argument("--sampling-port", type=int, default=5778, help="agent HTTP port (remote)")
    parser.add_argument("--sampling-refresh-interval", type=float, default=0.2, help="seconds")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for key in [k for k in os.environ if k.startswith("JAEGER_")]:
        del os.environ[key]  # jaeger-client would read its settings from these

    metrics = CountingMetrics()
    tracer = make_config(args, metrics).new_tracer()
    described: dict[str, Any] = {"service": args.service, "sampler_mode": args.sampler}
    if args.sampler == "remote":
        # The first poll waits random() * refresh interval, then one every interval. The answer
        # is counted as retrieved just before the sampler is swapped, on the client's IO thread.
        initial = tracer.sampler.sampler
        retrieved = wait_until(lambda: metrics.get("jaeger:sampler_queries|result=ok") > 0, args.timeout)
        swapped = retrieved and wait_until(
            lambda: (
                tracer.sampler.sampler is not initial or metrics.get("jaeger:sampler_updates|result=err") > 0
            ),
            2.0,
        )
        if not swapped or metrics.get("jaeger:sampler_updates|result=err"):
            counts = {k: v for k, v in metrics.counts.items() if "sampler" in k}
            print(f"jaeger_client_send: no sampling strategy adopted: {counts}", file=sys.stderr)
            tracer.close()
            return 1
        described["adopted_sampler"] = adopted_sampler(tracer)

    # A whole millisecond a second ago; the fractions below are exact in binary at this scale
    # only up to float rounding, so the wire values are computed by the client's own function.
    base = (time.time_ns() // 1_000_000 - 1000) / 1000
    root, child, grandchild, attempts = emit(tracer, base, attempts=40)
    tracer.close()
    reported = wait_until(
        lambda: (
            metrics.get("jaeger:reporter_spans|result=ok")
            + metrics.get("jaeger:reporter_spans|result=err")
            + metrics.get("jaeger:reporter_spans|result=dropped")
            >= 3
        ),
        args.timeout,
    )
    ok = metrics.get("jaeger:reporter_spans|result=ok")
    if not reported or ok != 3:
        print(f"jaeger_client_send: spans not reported: {dict(metrics.counts)}", file=sys.stderr)
        return 1
    described.update(
        trace_id=f"{root.trace_id:016x}",
        spans={
            ROOT: describe(root, None),
            CHILD: describe(child, root),
            GRANDCHILD: describe(grandchild, child),
        },
        linked={"trace_id": f"{LINKED_TRACE_ID:016x}", "span_id": f"{LINKED_SPAN_ID:016x}"},
        process_tags=typed_tags(tracer.reporter._process.tags),
        root_attempts=attempts,
    )
    print(json.dumps(described, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
