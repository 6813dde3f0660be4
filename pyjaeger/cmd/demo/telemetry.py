"""One TracerProvider per service, its exporter, and the per-path export counts the exit line shows."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import Tracer

from pyjaeger import __version__
from pyjaeger.cmd.demo.agent_exporter import AgentSpanExporter
from pyjaeger.cmd.demo.options import DemoOptions

__all__ = ["ExportCounts", "CountingExporter", "ServiceTelemetry", "build_telemetry"]

OTLP = "otlp"
AGENT = "agent"
EXPORT_TIMEOUT_S = 5.0


@dataclass
class ExportCounts:
    """Spans exported (and failed) per path, shared by every exporter on that path."""

    exported: dict[str, int] = field(default_factory=lambda: {OTLP: 0, AGENT: 0})
    failed: dict[str, int] = field(default_factory=lambda: {OTLP: 0, AGENT: 0})
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, n: int, ok: bool) -> None:
        with self._lock:
            counts = self.exported if ok else self.failed
            counts[path] = counts.get(path, 0) + n

    def summary(self) -> str:
        with self._lock:
            return ", ".join(
                f"{path} {n}" + (f" ({self.failed[path]} failed)" if self.failed.get(path) else "")
                for path, n in self.exported.items()
            )


class CountingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, path: str, counts: ExportCounts) -> None:
        self.inner = inner
        self.path = path
        self._counts = counts

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self._counts.add(self.path, len(spans), result == SpanExportResult.SUCCESS)
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.inner.shutdown()


@dataclass
class ServiceTelemetry:
    name: str
    provider: TracerProvider
    tracer: Tracer
    path: str
    agent: AgentSpanExporter | None = None  # for its datagram count


def build_telemetry(options: DemoOptions, counts: ExportCounts) -> dict[str, ServiceTelemetry]:
    """A provider per service, as four separate programs would have; the driver's may use the agent."""
    out: dict[str, ServiceTelemetry] = {}
    host = socket.gethostname()
    for name in ("frontend", "customer", "driver", "route"):
        exporter: SpanExporter
        agent = None
        if name == "driver" and options.agent is not None:
            exporter = agent = AgentSpanExporter(*options.agent)
            path = AGENT
        else:
            exporter, path = OTLPSpanExporter(options.otlp_traces_url, timeout=EXPORT_TIMEOUT_S), OTLP
        resource = Resource.create(
            {
                "service.name": name,
                "service.namespace": "pyjaeger-demo",
                "service.version": __version__,
                "host.name": host,
                "demo.reporting": "jaeger-thrift-udp" if path == AGENT else "otlp-http",
            }
        )
        # Explicit sampler and no atexit hook: the demo traces everything and flushes on its own.
        provider = TracerProvider(resource=resource, sampler=ParentBased(ALWAYS_ON), shutdown_on_exit=False)
        provider.add_span_processor(
            BatchSpanProcessor(
                CountingExporter(exporter, path, counts),
                schedule_delay_millis=options.schedule_delay_ms,
                max_queue_size=8192,
            )
        )
        tracer = provider.get_tracer(f"pyjaeger.cmd.demo.{name}", __version__)
        out[name] = ServiceTelemetry(name, provider, tracer, path, agent)
    return out
