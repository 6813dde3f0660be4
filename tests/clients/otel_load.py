"""Send traces from several real OpenTelemetry SDK exporters at once, and say which spans the
server acknowledged.

Runs inside the OTel client venv (tests/clients/requirements-otel.txt). Usage::

    python otel_load.py --protocol grpc --endpoint 127.0.0.1:4317 --exporters 6 --traces 50
    python otel_load.py --protocol http --endpoint http://127.0.0.1:4318 --exporters 6 --seconds 8

Each exporter is a TracerProvider with its own BatchSpanProcessor and OTLP exporter, so its own
connection (gRPC: a private subchannel pool), and runs in a thread of its own making traces of
`--spans` spans (a root and its children, 4 attributes each): `--traces` traces each, or as many
as it can in `--seconds`. Every export's outcome is recorded: the spans of an export the server
acknowledged (SUCCESS) are the ones a test may demand back.

Prints one JSON line: {"acked": [[trace_hex, span_hex], ...], "exports_ok": n, "exports_failed":
n, "spans_failed": n} and exits 0, whatever the server answered (the test judges).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class RecordingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.acked: list[tuple[int, int]] = []
        self.ok = self.failed = self.spans_failed = 0
        self.lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        with self.lock:
            if result is SpanExportResult.SUCCESS:
                self.ok += 1
                self.acked += [(s.context.trace_id, s.context.span_id) for s in spans]
            else:
                self.failed += 1
                self.spans_failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def make_exporter(protocol: str, endpoint: str, timeout: float) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(
            endpoint=endpoint,
            insecure=True,
            timeout=timeout,
            channel_options=(("grpc.use_local_subchannel_pool", 1),),  # type: ignore[arg-type]
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout)


def run_exporter(args: argparse.Namespace, index: int, out: RecordingExporter) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": f"{args.service}-{index}"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            out, max_queue_size=100_000, max_export_batch_size=args.batch, schedule_delay_millis=50
        )
    )
    tracer = provider.get_tracer("pyjaeger-e2e-load")
    deadline = time.monotonic() + args.seconds if args.seconds else None
    made = 0
    while (deadline is None and made < args.traces) or (deadline is not None and time.monotonic() < deadline):
        with tracer.start_as_current_span("load-root", attributes={"load.exporter": index, "load.n": made}):
            for i in range(args.spans - 1):
                with tracer.start_as_current_span(
                    f"load-op-{i % 3}", attributes={"load.i": i, "load.ok": True, "load.ratio": 0.5}
                ):
                    pass
        made += 1
        if deadline is not None:
            time.sleep(0.002)  # a steady stream, not a burst the queue would drop
    provider.shutdown()  # flushes: every span made is exported (or its export failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["grpc", "http"], required=True)
    parser.add_argument("--endpoint", required=True, help="grpc: host:port; http: http://host:port")
    parser.add_argument("--service", default="load")
    parser.add_argument("--exporters", type=int, default=4)
    parser.add_argument("--traces", type=int, default=20, help="traces per exporter")
    parser.add_argument("--seconds", type=float, default=0.0, help="send for this long instead")
    parser.add_argument("--spans", type=int, default=5, help="spans per trace")
    parser.add_argument("--batch", type=int, default=100, help="spans per export")
    parser.add_argument("--timeout", type=float, default=5.0, help="exporter timeout, seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    recorders = [
        RecordingExporter(make_exporter(args.protocol, args.endpoint, args.timeout))
        for _ in range(args.exporters)
    ]
    threads = [
        threading.Thread(target=run_exporter, args=(args, i, r), daemon=True) for i, r in enumerate(recorders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result: dict[str, Any] = {
        "acked": [[f"{t:032x}", f"{s:016x}"] for r in recorders for t, s in r.acked],
        "exports_ok": sum(r.ok for r in recorders),
        "exports_failed": sum(r.failed for r in recorders),
        "spans_failed": sum(r.spans_failed for r in recorders),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
