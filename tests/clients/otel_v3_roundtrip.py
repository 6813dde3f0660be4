"""Export one trace with the real OpenTelemetry SDK over OTLP, and print exactly what went out.

Runs inside the OTel client venv (tests/clients/requirements-otel.txt). Usage::

    python otel_v3_roundtrip.py --protocol grpc --endpoint 127.0.0.1:4317 --service v3-svc
    python otel_v3_roundtrip.py --protocol http --endpoint http://127.0.0.1:4318 --service v3-svc

Beside each OTLP exporter, a recorder keeps the batches the SDK exported and encodes them with
the SDK's own OTLP encoder (the one the exporters send through): the printed requests are what
pyjaeger received, written as OTLP/JSON (protobuf's JSON mapping with hex ids), so a test can
compare `/api/v3/traces/{id}` with them field by field.

The trace, from two services (two TracerProviders, so two resources) and three scopes:

- ``GET /v3`` (SERVER, root, status OK): attributes of every type: string, empty string, bool,
  int, double, bytes, arrays of strings, ints, doubles and bools, a kvlist holding an array;
  trace state ``vendor=v3`` (a sampler sets it; every span below inherits it but one)
- ``call backend`` (CLIENT, child of root, status ERROR "boom"): two events, one with
  attributes of every type, one without
- ``handle`` (SERVER, service ``<service>-backend``, child of ``call backend``)
- ``compute`` (INTERNAL, another scope without a version, child of ``call backend``, no trace
  state): links to another trace (with ``opentracing.ref_type=child_of``) and to the root of this
  trace (with an attribute Jaeger's model drops)
- ``publish`` (PRODUCER, child of root) and ``consume`` (CONSUMER, backend, child of
  ``publish``)

Times are explicit and not whole microseconds. On success prints one JSON line (see ``main``)
and exits 0; exits 1 when an export failed. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import Attributes

SCOPE = ("pyjaeger-v3", "2.0.0")
DB_SCOPE = "pyjaeger-v3-db"  # no version
ROOT, CLIENT, HANDLE, COMPUTE, PUBLISH, CONSUME = (
    "GET /v3",
    "call backend",
    "handle",
    "compute",
    "publish",
    "consume",
)
OTHER_TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
OTHER_SPAN_ID = 0xEEE19B7EC3C1B174
ROOT_TRACE_STATE = TraceState([("vendor", "v3")])


class TraceStateSampler(Sampler):
    """Samples everything; the root gets `vendor=v3`, `compute` none, other spans their parent's."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if not parent.is_valid:
            state = ROOT_TRACE_STATE
        elif name == COMPUTE:
            state = TraceState()
        else:
            state = parent.trace_state
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, state)

    def get_description(self) -> str:
        return "TraceStateSampler"


class RecordingExporter(SpanExporter):
    """Delegates to the OTLP exporter; keeps each batch's result and the request it encodes to."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[SpanExportResult] = []
        self.requests: list[Any] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.requests.append(encode_spans(spans))
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def make_exporter(protocol: str, endpoint: str, timeout: float) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=True, timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if urlparse(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return HttpExporter(endpoint=endpoint, timeout=timeout)


ROOT_ATTRIBUTES: dict[str, Any] = {
    "e2e.str": "text",
    "e2e.empty": "",
    "e2e.bool": True,
    "e2e.int": -42,
    "e2e.double": 0.25,
    "e2e.bytes": b"\x00\x01\xff",
    "e2e.strings": ["a", "b"],
    "e2e.ints": [1, 2, 3],
    "e2e.doubles": [0.5, 1.5],
    "e2e.bools": [True, False],
    "e2e.map": {"k": "v", "n": [1, 2]},
}
EVENT_ATTRIBUTES: dict[str, Any] = {
    "n": 1,
    "ratio": 0.125,
    "hit": False,
    "who": "cache",
    "raw": b"\x02",
    "keys": ["x"],
}


def emit(front: TracerProvider, back: TracerProvider, base_ns: int) -> str:
    """Record the six spans; return the trace id in hex."""
    tracer = front.get_tracer(*SCOPE)
    db_tracer = front.get_tracer(DB_SCOPE)
    back_tracer = back.get_tracer(*SCOPE)
    t = base_ns
    root = tracer.start_span(ROOT, kind=SpanKind.SERVER, start_time=t + 900, attributes=ROOT_ATTRIBUTES)
    root.set_status(Status(StatusCode.OK))
    root_ctx = trace.set_span_in_context(root)

    client = tracer.start_span(CLIENT, context=root_ctx, kind=SpanKind.CLIENT, start_time=t + 1_000_500)
    client.add_event("cache miss", EVENT_ATTRIBUTES, timestamp=t + 1_500_250)
    client.add_event("retry", timestamp=t + 1_600_001)
    client.set_status(Status(StatusCode.ERROR, "boom"))
    client_ctx = trace.set_span_in_context(client)

    handle = back_tracer.start_span(
        HANDLE,
        context=client_ctx,
        kind=SpanKind.SERVER,
        start_time=t + 1_100_999,
        attributes={"http.response.status_code": 500},
    )
    handle.end(end_time=t + 1_900_001)

    other = SpanContext(
        OTHER_TRACE_ID, OTHER_SPAN_ID, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    compute = db_tracer.start_span(
        COMPUTE,
        context=client_ctx,
        kind=SpanKind.INTERNAL,
        start_time=t + 2_000_999,
        links=[
            Link(other, {"opentracing.ref_type": "child_of"}),
            Link(root.get_span_context(), {"e2e.link": "dropped by the Jaeger model"}),
        ],
    )
    compute.end(end_time=t + 3_000_001)
    client.end(end_time=t + 4_000_000)

    publish = tracer.start_span(PUBLISH, context=root_ctx, kind=SpanKind.PRODUCER, start_time=t + 4_100_000)
    consume = back_tracer.start_span(
        CONSUME, context=trace.set_span_in_context(publish), kind=SpanKind.CONSUMER, start_time=t + 4_200_007
    )
    consume.end(end_time=t + 4_300_000)
    publish.end(end_time=t + 4_150_000)
    root.end(end_time=t + 5_000_100)
    return f"{root.get_span_context().trace_id:032x}"


def hex_ids(obj: Any) -> Any:
    """protobuf's JSON mapping writes bytes in base64; OTLP/JSON writes ids in hex."""
    if isinstance(obj, list):
        return [hex_ids(x) for x in obj]
    if isinstance(obj, dict):
        return {
            k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else hex_ids(v)
            for k, v in obj.items()
        }
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["grpc", "http"], required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument(
        "--service", required=True, help="the frontend's service.name; the backend's adds -backend"
    )
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    front_resource = Resource.create(
        {
            "service.name": args.service,
            "deployment.environment": "e2e",
            "e2e.resource.int": 7,
            "e2e.resource.bool": True,
            "e2e.resource.double": 0.5,
            "e2e.resource.list": ["x", "y"],
        }
    )
    back_resource = Resource.create({"service.name": f"{args.service}-backend"})
    exporters = []
    providers = []
    for resource in (front_resource, back_resource):
        exporter = RecordingExporter(make_exporter(args.protocol, args.endpoint, args.timeout))
        provider = TracerProvider(resource=resource, sampler=TraceStateSampler())
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
        exporters.append(exporter)
        providers.append(provider)

    base_ns = (time.time_ns() // 1_000_000 - 1000) * 1_000_000  # a second ago, on a whole ms
    trace_id = emit(providers[0], providers[1], base_ns)
    for provider in providers:
        provider.force_flush(timeout_millis=int(args.timeout * 1000) + 5000)
        provider.shutdown()

    results = [r for e in exporters for r in e.results]
    if len(results) != 2 or any(r is not SpanExportResult.SUCCESS for r in results):
        print(f"otel_v3_roundtrip: export did not succeed: {results}", file=sys.stderr)
        return 1
    requests = [
        hex_ids(json_format.MessageToDict(req, use_integers_for_enums=True))
        for e in exporters
        for req in e.requests
    ]
    print(
        json.dumps(
            {
                "trace_id": trace_id,
                "services": [args.service, f"{args.service}-backend"],
                "requests": requests,
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
