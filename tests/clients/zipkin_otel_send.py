"""Emit one known two-service trace with the OpenTelemetry SDK's Zipkin exporters, then describe it.

Runs inside a Zipkin client venv, never in the server's environment:

- ``--protocol json``: ``opentelemetry-exporter-zipkin-json`` (v2 JSON, ``application/json``),
  venv from tests/clients/requirements-zipkin-json.txt (newest SDK, set C);
- ``--protocol proto``: ``opentelemetry-exporter-zipkin-proto-http`` (proto3 ListOfSpans,
  ``application/x-protobuf``), venv from requirements-zipkin-proto.txt (1.27.0, protobuf 3.x).

Usage::

    python zipkin_otel_send.py --protocol json --endpoint http://127.0.0.1:9411/api/v2/spans \
        --service-a e2e-a --service-b e2e-b

The trace (one TracerProvider, so one exporter and one POST, per service; B's POST first):

- ``GET /checkout`` in A (SERVER, root): http.path, http.status_code (int 200: a tag "200")
- ``GET /inventory`` in A (CLIENT, child of root): event "cache miss"
- ``GET /inventory`` in B (SERVER, child of A's client span, own span id, as OTel propagates):
  status ERROR "db down"

On success prints one JSON line (ids in lowercase hex) and exits 0; exits 1 when an export failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode


class CollectingExporter(SpanExporter):
    """Keeps finished spans, so each service's spans go out in one explicit export."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def make_exporter(protocol: str, endpoint: str) -> SpanExporter:
    if protocol == "json":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter as JsonExporter

        return JsonExporter(endpoint=endpoint, timeout=10)
    from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter as ProtoExporter

    return ProtoExporter(endpoint=endpoint, timeout=10)


def provider(service: str) -> tuple[TracerProvider, CollectingExporter]:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tp = TracerProvider(resource=Resource.create({"service.name": service}))
    collected = CollectingExporter()
    tp.add_span_processor(SimpleSpanProcessor(collected))
    return tp, collected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=("json", "proto"), required=True)
    parser.add_argument("--endpoint", required=True, help="full URL, e.g. http://host:9411/api/v2/spans")
    parser.add_argument("--service-a", default="e2e-a")
    parser.add_argument("--service-b", default="e2e-b")
    args = parser.parse_args(argv)

    tp_a, spans_a = provider(args.service_a)
    tp_b, spans_b = provider(args.service_b)
    tracer_a, tracer_b = tp_a.get_tracer("pyjaeger-e2e"), tp_b.get_tracer("pyjaeger-e2e")
    base = time.time_ns() - 1_000_000_000
    root = tracer_a.start_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        start_time=base,
        attributes={"http.path": "/checkout", "http.status_code": 200},
    )
    client = tracer_a.start_span(
        "GET /inventory",
        context=trace.set_span_in_context(root),
        kind=SpanKind.CLIENT,
        start_time=base + 100_000,
    )
    client.add_event("cache miss", timestamp=base + 150_000)
    # Service B continues the propagated context: a remote parent, as a B3/W3C extract gives it.
    remote = trace.NonRecordingSpan(
        trace.SpanContext(
            client.get_span_context().trace_id,
            client.get_span_context().span_id,
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    server = tracer_b.start_span(
        "GET /inventory",
        context=trace.set_span_in_context(remote),
        kind=SpanKind.SERVER,
        start_time=base + 200_000,
    )
    server.set_attribute("db.rows", 0)
    server.set_status(Status(StatusCode.ERROR, "db down"))
    server.end(end_time=base + 700_000)
    client.end(end_time=base + 800_000)
    root.end(end_time=base + 1_000_000)

    results = []
    for collected in (spans_b, spans_a):
        exporter = make_exporter(args.protocol, args.endpoint)
        results.append((exporter.export(collected.spans), len(collected.spans)))
        exporter.shutdown()
    if any(result is not SpanExportResult.SUCCESS for result, _ in results):
        print(f"export failed: {results}", file=sys.stderr)
        return 1

    def hex_ids(span: trace.Span) -> dict[str, str | None]:
        ctx = span.get_span_context()
        parent = getattr(span, "parent", None)
        return {
            "span_id": f"{ctx.span_id:016x}",
            "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        }

    package = f"opentelemetry-exporter-zipkin-{'json' if args.protocol == 'json' else 'proto-http'}"
    out = {
        "client": package,
        "version": version(package),
        "sdk_version": version("opentelemetry-sdk"),
        "protocol": args.protocol,
        "spans_per_post": [n for _, n in results],
        "trace_id": f"{root.get_span_context().trace_id:032x}",
        "spans": {"root": hex_ids(root), "client": hex_ids(client), "server": hex_ids(server)},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
