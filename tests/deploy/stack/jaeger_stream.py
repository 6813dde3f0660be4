"""Send a steady stream of small traces with the real jaeger-client (4.8.0) to an agent over UDP.

Runs inside the Jaeger client venv (tests/clients/requirements-jaeger.txt). Each trace is a root
and one child, reported together in one ``emitBatch`` datagram (batch size 2), one trace every
``--interval`` seconds. Usage::

    python jaeger_stream.py --agent 127.0.0.1:6831 --service svc --traces 100 --interval 0.1

Prints one JSON line: the trace ids (hex), the spans sent, and the client's own reporter counts
(``ok`` = handed to the UDP socket). Exits 1 if the client failed or dropped a span: then the
agent side cannot be judged.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import threading
import time
from typing import Any

from jaeger_client import Config
from jaeger_client.metrics import MetricsFactory

SPANS_PER_TRACE = 2


class CountingMetrics(MetricsFactory):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--traces", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith("JAEGER_")]:
        del os.environ[key]
    host, port = args.agent.rsplit(":", 1)
    metrics = CountingMetrics()
    config = Config(
        config={
            "local_agent": {"reporting_host": host, "reporting_port": int(port)},
            "sampler": {"type": "const", "param": 1},
            "logging": False,
            # one datagram per trace, as soon as its two spans are finished
            "reporter_batch_size": SPANS_PER_TRACE,
            "reporter_flush_interval": 60,
            "reporter_queue_size": 100_000,
        },
        service_name=args.service,
        metrics_factory=metrics,
        validate=True,
    )
    tracer = config.new_tracer()
    trace_ids = []
    for i in range(args.traces):
        root = tracer.start_span("stream root", tags={"stream.seq": i})
        child = tracer.start_span("stream child", child_of=root)
        child.finish()
        root.finish()
        trace_ids.append(f"{root.trace_id:016x}")
        time.sleep(args.interval)
    tracer.close()
    sent = args.traces * SPANS_PER_TRACE
    deadline = time.monotonic() + 30
    outcome = ("ok", "err", "dropped")
    while sum(metrics.get(f"jaeger:reporter_spans|result={r}") for r in outcome) < sent:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    counts = {r: metrics.get(f"jaeger:reporter_spans|result={r}") for r in outcome}
    print(json.dumps({"trace_ids": trace_ids, "spans_sent": sent, "client": counts}))
    return 0 if counts["ok"] == sent else 1


if __name__ == "__main__":
    sys.exit(main())
