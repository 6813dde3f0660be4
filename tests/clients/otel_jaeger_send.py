"""Emit one known trace with the OpenTelemetry SDK and a Jaeger exporter, then describe it.

Runs inside the Jaeger client venv (tests/clients/requirements-jaeger.txt: SDK 1.27 with
opentelemetry-exporter-jaeger-thrift / -proto-grpc 1.21.0), never in the server's environment.
The trace is otel_send.py's (same spans, attributes, event, link, timestamps); only the exporter
differs. Usage::

    python otel_jaeger_send.py --mode thrift-agent --endpoint 127.0.0.1:6831 --service s
    python otel_jaeger_send.py --mode thrift-collector \\
        --endpoint 'http://127.0.0.1:14268/api/traces?format=jaeger.thrift' --service s
    python otel_jaeger_send.py --mode proto-grpc --endpoint 127.0.0.1:14250 --service s

What each exporter puts on the wire (opentelemetry-exporter-jaeger 1.21.0):

- all modes: resource attributes become **span tags** (after the span's attributes), list
  attributes become Python ``str(tuple)`` text, the scope becomes ``otel.library.*`` and
  ``otel.scope.*`` tags, an event becomes a log whose last field is ``message`` = event name,
  a link becomes a FOLLOWS_FROM reference (its attributes are lost).
- thrift modes: the process has only ``serviceName``; times are nanoseconds rounded to the
  nearest microsecond, start and duration each on its own.
- proto-grpc: ``batch.process`` unset, each span's own process carries the resource attributes as
  tags; times go through float seconds, so the nanoseconds on the wire are slightly off.

So that a reader can compare exactly, the output's ``wire`` describes each span as the exporter's
own translator encodes it (times in microseconds as Jaeger stores them; tags and log fields as
``[jaeger-json-type, value]`` pairs, in order).

Prints one JSON line to stdout and exits 0 on success; exits 1 when an export failed. Failure is
detectable in thrift-collector mode (a raised error or a non-2xx status, which the exporter itself
only logs) and in proto-grpc mode (any RPC error); UDP in thrift-agent mode never reports loss.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from otel_send import RecordingExporter, emit

log = logging.getLogger("otel_jaeger_send")

# jaeger.thrift TagType and api_v2 ValueType, by number, to the type names of Jaeger's JSON.
THRIFT_TAG_TYPES = {0: "string", 1: "float64", 2: "bool", 3: "int64", 4: "binary"}
PROTO_VALUE_TYPES = {0: "string", 1: "bool", 2: "int64", 3: "float64", 4: "binary"}


def make_exporter(mode: str, endpoint: str, timeout: float) -> SpanExporter:
    # The exporters are deprecated (a DeprecationWarning per construction); that is known.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if mode == "proto-grpc":
            from opentelemetry.exporter.jaeger.proto.grpc import JaegerExporter as GrpcExporter

            return GrpcExporter(collector_endpoint=endpoint, insecure=True, timeout=int(timeout))
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter as ThriftExporter

        if mode == "thrift-collector":
            return ThriftExporter(collector_endpoint=endpoint, timeout=int(timeout))
        host, port = endpoint.rsplit(":", 1)
        return ThriftExporter(agent_host_name=host, agent_port=int(port))


def thrift_tags(tags: Sequence[Any] | None) -> list[list[Any]]:
    values = {0: "vStr", 1: "vDouble", 2: "vBool", 3: "vLong", 4: "vBinary"}
    return [[t.key, THRIFT_TAG_TYPES[t.vType], getattr(t, values[t.vType])] for t in tags or []]


def proto_tags(tags: Sequence[Any]) -> list[list[Any]]:
    values = {0: "v_str", 1: "v_bool", 2: "v_int64", 3: "v_float64", 4: "v_binary"}
    return [[t.key, PROTO_VALUE_TYPES[t.v_type], getattr(t, values[t.v_type])] for t in tags]


def _hex(value: int, digits: int) -> str:
    return f"{value & ((1 << (4 * digits)) - 1):0{digits}x}"


def wire_spans(mode: str, spans: Sequence[ReadableSpan], service: str) -> dict[str, dict[str, Any]]:
    """Each span as this exporter encodes it, in the terms Jaeger stores and renders."""
    out: dict[str, dict[str, Any]] = {}
    if mode == "proto-grpc":
        from opentelemetry.exporter.jaeger.proto.grpc.translate import ProtobufTranslator, Translate

        def micros(ts: Any) -> int:  # Timestamp or Duration → µs, truncated as Jaeger does
            return int((ts.seconds * 1_000_000_000 + ts.nanos) // 1000)

        for pb in Translate(spans)._translate(ProtobufTranslator(service)):
            out[pb.operation_name] = {
                "start_us": micros(pb.start_time),
                "duration_us": micros(pb.duration),
                "tags": proto_tags(pb.tags),
                "logs": [
                    {"timestamp_us": micros(entry.timestamp), "fields": proto_tags(entry.fields)}
                    for entry in pb.logs
                ],
                "references": [
                    {
                        "refType": "CHILD_OF" if ref.ref_type == 0 else "FOLLOWS_FROM",
                        "traceID": ref.trace_id.hex(),
                        "spanID": ref.span_id.hex(),
                    }
                    for ref in pb.references
                ],
                "process": {"serviceName": pb.process.service_name, "tags": proto_tags(pb.process.tags)},
                "flags": pb.flags,
            }
        return out

    from opentelemetry.exporter.jaeger.thrift.translate import ThriftTranslator, Translate

    for th in Translate(spans)._translate(ThriftTranslator()):
        out[th.operationName] = {
            "start_us": th.startTime,
            "duration_us": th.duration,
            "tags": thrift_tags(th.tags),
            "logs": [{"timestamp_us": e.timestamp, "fields": thrift_tags(e.fields)} for e in th.logs or []],
            "references": [
                {
                    "refType": "CHILD_OF" if ref.refType == 0 else "FOLLOWS_FROM",
                    "traceID": _hex(ref.traceIdHigh, 16) + _hex(ref.traceIdLow, 16),
                    "spanID": _hex(ref.spanId, 16),
                }
                for ref in th.references or []
            ],
            "parent_span_id": _hex(th.parentSpanId, 16),
            "process": {"serviceName": service, "tags": []},
            "flags": th.flags,
        }
    return out


class CheckedExporter(RecordingExporter):
    """RecordingExporter that also notices the failures the Jaeger exporters only log or raise."""

    def __init__(self, inner: SpanExporter, mode: str, service: str) -> None:
        super().__init__(inner)
        self.mode = mode
        self.service = service
        self.wire: dict[str, dict[str, Any]] = {}
        self.http_statuses: list[int] = []
        self._exporter: Any = inner  # for the private HTTP transport of the thrift exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.wire.update(wire_spans(self.mode, spans, self.service))
        try:
            result = self.inner.export(spans)
        except Exception:  # thrift's HTTP client and UDP socket raise instead of returning
            log.exception("export raised")
            result = SpanExportResult.FAILURE
        if self.mode == "thrift-collector" and result is SpanExportResult.SUCCESS:
            # The exporter logs a non-2xx answer and still returns SUCCESS.
            code = int(self._exporter._collector.http_transport.code)
            self.http_statuses.append(code)
            if not 200 <= code < 300:
                result = SpanExportResult.FAILURE
        self.results.append((result, len(spans)))
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["thrift-agent", "thrift-collector", "proto-grpc"], required=True)
    parser.add_argument(
        "--endpoint",
        required=True,
        help="thrift-agent: UDP host:port; thrift-collector: URL of /api/traces; proto-grpc: host:port",
    )
    parser.add_argument("--service", required=True, help="resource service.name")
    parser.add_argument("--environment", default="e2e", help="resource deployment.environment")
    parser.add_argument("--host-name", default="e2e-host", help="resource host.name")
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
    exporter = CheckedExporter(make_exporter(args.mode, args.endpoint, args.timeout), args.mode, args.service)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))

    base_ns = (time.time_ns() // 1_000_000 - 1000) * 1_000_000
    described = emit(provider, base_ns)
    flushed = provider.force_flush(timeout_millis=int(args.timeout * 1000) + 5000)
    provider.shutdown()

    exported = sum(n for result, n in exporter.results if result is SpanExportResult.SUCCESS)
    failed = [r for r, _ in exporter.results if r is not SpanExportResult.SUCCESS]
    if not flushed or failed or exported != 3:
        print(
            f"otel_jaeger_send: export did not succeed: flushed={flushed} results={exporter.results}"
            f" http={exporter.http_statuses}",
            file=sys.stderr,
        )
        return 1
    described.update(
        mode=args.mode,
        service=args.service,
        resource={k: v for k, v in resource.attributes.items()},
        exports=len(exporter.results),
        http_statuses=exporter.http_statuses,
        wire=exporter.wire,
    )
    print(json.dumps(described, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
