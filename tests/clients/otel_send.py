"""Emit one known trace with the real OpenTelemetry SDK and OTLP exporter, then describe it.

Runs inside the OTel client venv (tests/clients/requirements-otel.txt), never in the server's
environment. Usage::

    python otel_send.py --protocol grpc --endpoint 127.0.0.1:4317 --service e2e-svc
    python otel_send.py --protocol http --endpoint http://127.0.0.1:4318 --service e2e-svc

The trace, all in one export request (BatchSpanProcessor, flushed once):

- ``GET /e2e`` (SERVER, root): http.method, http.status_code (int), e2e.ratio (float),
  e2e.cached (bool), e2e.tags (list of strings)
- ``cache lookup`` (CLIENT, child of root): event "cache miss" {n: 1}, status ERROR "boom"
- ``compute`` (INTERNAL, child of "cache lookup"): one link to a span of another trace

Timestamps are explicit and deliberately not whole microseconds, so a reader can check that
start and duration are each truncated from nanoseconds (``end//1000 - start//1000`` differs
from ``(end - start)//1000`` for the root).

On success prints one JSON line to stdout (ids in lowercase hex) and exits 0; exits 1 when an
export failed or nothing was exported. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlparse

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.version import __version__ as api_version

SCOPE_NAME = "pyjaeger-e2e"
SCOPE_VERSION = "1.0.0"
ROOT, CHILD, GRANDCHILD = "GET /e2e", "cache lookup", "compute"
# The span the grandchild links to: another trace, so the link cannot be mistaken for a parent.
LINKED_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
LINKED_SPAN_ID = 0xB7AD6B7169203331


class RecordingExporter(SpanExporter):
    """Delegates to the real exporter and remembers each export's result and span count."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[tuple[SpanExportResult, int]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append((result, len(spans)))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def make_exporter(protocol: str, endpoint: str, compression: str, timeout: float) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            Compression as GrpcCompression,
        )
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        grpc_compression = GrpcCompression.Gzip if compression == "gzip" else GrpcCompression.NoCompression
        return GrpcExporter(endpoint=endpoint, insecure=True, timeout=timeout, compression=grpc_compression)

    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if urlparse(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    http_compression = HttpCompression.Gzip if compression == "gzip" else HttpCompression.NoCompression
    return HttpExporter(endpoint=endpoint, timeout=timeout, compression=http_compression)


def emit(provider: TracerProvider, base_ns: int) -> dict[str, object]:
    """Record the three spans; return what a reader needs to check them."""
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)
    t = base_ns
    root = tracer.start_span(
        ROOT,
        kind=SpanKind.SERVER,
        start_time=t + 900,
        attributes={
            "http.method": "GET",
            "http.status_code": 200,
            "e2e.ratio": 0.25,
            "e2e.cached": False,
            "e2e.tags": ["a", "b"],
        },
    )
    child = tracer.start_span(
        CHILD, context=trace.set_span_in_context(root), kind=SpanKind.CLIENT, start_time=t + 1_000_500
    )
    child.add_event("cache miss", {"n": 1}, timestamp=t + 1_500_250)
    child.set_status(Status(StatusCode.ERROR, "boom"))
    link_ctx = SpanContext(
        trace_id=LINKED_TRACE_ID,
        span_id=LINKED_SPAN_ID,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    grandchild = tracer.start_span(
        GRANDCHILD,
        context=trace.set_span_in_context(child),
        kind=SpanKind.INTERNAL,
        start_time=t + 2_000_999,
        links=[Link(link_ctx, {"e2e.link": "other-trace"})],
    )
    grandchild.end(end_time=t + 3_000_001)
    child.end(end_time=t + 4_000_000)
    root.end(end_time=t + 5_000_100)

    spans: dict[str, dict[str, object]] = {}
    for span, parent in ((root, None), (child, root), (grandchild, child)):
        assert isinstance(span, ReadableSpan)  # the SDK's spans are readable
        spans[span.name] = {
            "span_id": f"{span.get_span_context().span_id:016x}",
            "parent": None if parent is None else parent.name,
            "parent_span_id": None if parent is None else f"{parent.get_span_context().span_id:016x}",
            "kind": span.kind.name.lower(),
            "start_ns": span.start_time,
            "end_ns": span.end_time,
            "events": [
                {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})}
                for e in span.events
            ],
            "links": [
                {
                    "trace_id": f"{link.context.trace_id:032x}",
                    "span_id": f"{link.context.span_id:016x}",
                    "attributes": dict(link.attributes or {}),
                }
                for link in span.links
            ],
        }
    return {
        "trace_id": f"{root.get_span_context().trace_id:032x}",
        "spans": spans,
        "scope": {"name": SCOPE_NAME, "version": SCOPE_VERSION},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["grpc", "http"], required=True)
    parser.add_argument(
        "--endpoint",
        required=True,
        help="gRPC: host:port (or http://host:port); HTTP: base URL or full URL of /v1/traces",
    )
    parser.add_argument("--service", required=True, help="resource service.name")
    parser.add_argument("--environment", default="e2e", help="resource deployment.environment")
    parser.add_argument("--host-name", default="e2e-host", help="resource host.name")
    parser.add_argument("--compression", choices=["none", "gzip"], default="none")
    parser.add_argument("--timeout", type=float, default=10.0, help="exporter timeout, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    resource = Resource.create(
        {
            "service.name": args.service,
            "deployment.environment": args.environment,
            "host.name": args.host_name,
        }
    )
    exporter = RecordingExporter(make_exporter(args.protocol, args.endpoint, args.compression, args.timeout))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))

    # A whole millisecond a second ago, so the trace is inside any default search window.
    base_ns = (time.time_ns() // 1_000_000 - 1000) * 1_000_000
    described = emit(provider, base_ns)
    flushed = provider.force_flush(timeout_millis=int(args.timeout * 1000) + 5000)
    provider.shutdown()

    exported = sum(n for result, n in exporter.results if result is SpanExportResult.SUCCESS)
    failed = [r for r, _ in exporter.results if r is not SpanExportResult.SUCCESS]
    if not flushed or failed or exported != 3:
        print(
            f"otel_send: export did not succeed: flushed={flushed} results={exporter.results}",
            file=sys.stderr,
        )
        return 1
    described.update(
        protocol=args.protocol,
        compression=args.compression,
        service=args.service,
        resource={k: v for k, v in resource.attributes.items()},
        api_version=api_version,
        exports=len(exporter.results),
    )
    print(json.dumps(described, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
