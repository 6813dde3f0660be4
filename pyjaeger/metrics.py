"""Prometheus metrics with Jaeger's names, each process in its own registry.

A registry per process (not prometheus-client's global one) so tests can build many components
in one interpreter. Counters get prometheus-client's `_total` suffix, timers are histograms in
seconds without a unit suffix, as in Jaeger's Prometheus factory.
"""

from __future__ import annotations

import socket

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

__all__ = ["CollectorMetrics", "HttpServerMetrics", "QueryMetrics", "MAX_SERVICE_LABELS", "OTHER_SERVICES"]

# Jaeger exposes no `_created` series; they would double every counter's output.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Jaeger counts at most this many distinct services per label set; the rest share one label.
MAX_SERVICE_LABELS = 4000
OTHER_SERVICES = "other-services"

_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
)

# The bucket boundaries OpenTelemetry's HTTP semantic conventions advise for
# http.server.request.duration, so quantiles compare with other OTel-instrumented servers.
_HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


class CollectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.host = socket.gethostname()
        ns = "jaeger_collector"
        span_labels = ("debug", "format", "svc", "transport")
        self.spans_received = Counter(
            f"{ns}_spans_received", "Spans received", span_labels, registry=registry
        )
        self.spans_rejected = Counter(
            f"{ns}_spans_rejected", "Spans rejected as invalid", span_labels, registry=registry
        )
        self.traces_received = Counter(
            f"{ns}_traces_received",
            "Traces received (counted on root spans)",
            ("debug", "format", "sampler_type", "svc", "transport"),
            registry=registry,
        )
        self.spans_saved = Counter(
            f"{ns}_spans_saved_by_svc",
            "Spans written to storage by service and result",
            ("debug", "result", "svc"),
            registry=registry,
        )
        # Not a Jaeger metric: Jaeger decodes a batch and drops it into a full queue; we refuse the
        # request undecoded (back-pressure), so its spans are unknown and the request is counted.
        self.requests_refused = Counter(
            f"{ns}_requests_refused",
            "Requests refused undecoded (HTTP 503 / gRPC RESOURCE_EXHAUSTED) because the queue was full",
            ("format", "transport"),
            registry=registry,
        )
        self.spans_dropped = Counter(
            f"{ns}_spans_dropped", "Spans refused because the queue was full", ("host",), registry=registry
        ).labels(self.host)
        self.queue_length = Gauge(
            f"{ns}_queue_length", "Spans waiting in the queue", ("host",), registry=registry
        ).labels(self.host)
        self.queue_capacity = Gauge(
            f"{ns}_queue_capacity", "Queue capacity in spans", ("host",), registry=registry
        ).labels(self.host)
        self.in_queue_latency = Histogram(
            f"{ns}_in_queue_latency",
            "Time a batch spent in the queue, seconds",
            ("host",),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        ).labels(self.host)
        self.save_latency = Histogram(
            f"{ns}_save_latency",
            "Time to write a batch to storage, seconds",
            ("host",),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        ).labels(self.host)
        self.batch_size = Gauge(
            f"{ns}_batch_size", "Spans in the last batch written", ("host",), registry=registry
        ).labels(self.host)
        self._services: set[str] = set()

    def svc_label(self, service: str) -> str:
        """Bound label cardinality the way Jaeger does."""
        if service in self._services:
            return service
        if len(self._services) >= MAX_SERVICE_LABELS:
            return OTHER_SERVICES
        self._services.add(service)
        return service


class QueryMetrics:
    """Storage read metrics under Jaeger v1's query names (the ones jaeger-mixin dashboards use)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "jaeger_query_requests", "Storage read requests", ("operation", "result"), registry=registry
        )
        self.latency = Histogram(
            "jaeger_query_latency",
            "Storage read latency, seconds",
            ("operation", "result"),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.responses = Histogram(
            "jaeger_query_responses",
            "Number of items a storage read returned",
            ("operation",),
            buckets=(0, 1, 5, 10, 20, 50, 100, 200, 500, 1000, 1500, 5000),
            registry=registry,
        )


class HttpServerMetrics:
    """Request durations of every HTTP server in the process, one histogram for all of them.

    Jaeger v2 serves HTTP through the OpenTelemetry collector's instrumented servers, which record
    OTel's `http.server.request.duration`; Prometheus shows it as this name with the attribute dots
    turned into underscores. `component` is ours: the query server, the agent's sampling server and
    the collector's receivers share a registry in the all-in-one and overlap in routes
    (`/api/traces`), and a port number would tie dashboards to one deployment's flags.
    """

    LABELS = ("component", "http_request_method", "http_route", "http_response_status_code")

    def __init__(self, registry: CollectorRegistry | None) -> None:
        """`registry` None: the histogram is registered nowhere (a `MergedCollector` serves it
        with the ingest worker processes' samples added)."""
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, seconds",
            self.LABELS,
            buckets=_HTTP_DURATION_BUCKETS,
            registry=registry,
        )


class UDPServerMetrics:
    """The agent's UDP server metrics, labelled like Jaeger's `{model, protocol}`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        ns = "jaeger_agent_thrift_udp"
        labels = ("model", "protocol")
        self.packets_processed = Counter(
            f"{ns}_server_packets_processed", "Datagrams decoded", labels, registry=registry
        )
        self.packets_dropped = Counter(
            f"{ns}_server_packets_dropped",
            "Datagrams dropped because the queue was full or the spans could not be handed on",
            labels,
            registry=registry,
        )
        self.read_errors = Counter(
            f"{ns}_server_read_errors",
            "Datagrams that could not be read (e.g. over the size limit)",
            labels,
            registry=registry,
        )
        self.queue_size = Gauge(f"{ns}_server_queue_size", "Datagrams waiting", labels, registry=registry)
        self.packet_size = Gauge(
            f"{ns}_server_packet_size", "Size of the last datagram", labels, registry=registry
        )
        self.handler_errors = Counter(
            f"{ns}_t_processor_handler_errors", "Datagrams that did not decode", labels, registry=registry
        )
        # Not a Jaeger metric: when decoding falls behind, the kernel drops datagrams before the
        # server sees them, and only the socket's own counter (/proc/net/udp) shows it.
        self.kernel_drops = Gauge(
            f"{ns}_server_kernel_drops",
            "Datagrams the kernel dropped on this socket because its receive buffer was full (cumulative)",
            labels,
            registry=registry,
        )


class ReporterMetrics:
    """The agent's forwarding to collectors."""

    def __init__(self, registry: CollectorRegistry, protocol: str) -> None:
        ns = "jaeger_agent_reporter"
        labels = ("format", "protocol")
        key = ("jaeger", protocol)
        self.batches_submitted = Counter(
            f"{ns}_batches_submitted", "Batches a collector accepted", labels, registry=registry
        ).labels(*key)
        self.batches_failures = Counter(
            f"{ns}_batches_failures", "Attempts to send a batch that failed", labels, registry=registry
        ).labels(*key)
        self.spans_submitted = Counter(
            f"{ns}_spans_submitted", "Spans a collector accepted", labels, registry=registry
        ).labels(*key)
        self.spans_failures = Counter(
            f"{ns}_spans_failures",
            "Spans never delivered: dropped because the agent's queue was full",
            labels,
            registry=registry,
        ).labels(*key)
        self.batch_size = Gauge(
            f"{ns}_batch_size", "Spans in the last batch sent", labels, registry=registry
        ).labels(*key)
        self.queue_length = Gauge(
            f"{ns}_queue_length", "Spans waiting to be sent to a collector", labels, registry=registry
        ).labels(*key)
