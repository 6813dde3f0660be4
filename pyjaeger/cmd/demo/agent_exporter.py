"""OpenTelemetry SDK spans → pyjaeger's model → Jaeger thrift `emitBatch` datagrams to an agent.

The OpenTelemetry Jaeger exporter is gone from the SDK, yet agents still take UDP: this is its
small replacement. Spans are translated the way pyjaeger's OTLP receiver translates them (scope
tags, attributes, `span.kind`, `otel.status_code` + `error=true`, events as logs, the parent as the
first CHILD_OF reference, links as FOLLOWS_FROM), so a span looks the same whichever way it came.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from pyjaeger.codecs.jaeger_thrift import encode_agent_message
from pyjaeger.codecs.otel_translate import add_span_fields_as_tags, render_json_value
from pyjaeger.model import FLAG_SAMPLED, KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = ["AGENT_MAX_PACKET_SIZE", "AgentSpanExporter", "span_to_model", "resource_to_process"]

log = logging.getLogger(__name__)

# The agent's --processor.jaeger-compact.server-max-packet-size default: a larger datagram is cut.
AGENT_MAX_PACKET_SIZE = 65000

# SDK SpanKind values are OTLP's minus one: OTLP keeps 0 for "unspecified".
_OTLP_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}


def _key_value(key: str, value: object) -> KeyValue:
    # bool before int: True is an int to Python, a BOOL to Jaeger.
    if isinstance(value, str):
        return KeyValue(key, ValueType.STRING, value)
    if isinstance(value, bool):
        return KeyValue(key, ValueType.BOOL, value)
    if isinstance(value, int):
        return KeyValue(key, ValueType.INT64, value)
    if isinstance(value, float):
        return KeyValue(key, ValueType.FLOAT64, value)
    if isinstance(value, bytes):
        return KeyValue(key, ValueType.BINARY, value)
    # Arrays and maps: JSON text, as pyjaeger renders OTLP array and kvlist values.
    if isinstance(value, Mapping):
        return KeyValue(key, ValueType.STRING, render_json_value(dict(value)))
    if isinstance(value, Sequence):
        return KeyValue(key, ValueType.STRING, render_json_value(list(value)))
    return KeyValue(key, ValueType.STRING, "")


def _key_values(attributes: Mapping[str, object] | None) -> list[KeyValue]:
    return [_key_value(k, v) for k, v in (attributes or {}).items()]


def resource_to_process(resource: Resource) -> Process:
    attrs = resource.attributes
    service = attrs.get("service.name")
    tags = [_key_value(k, v) for k, v in attrs.items() if k != "service.name"]
    return Process(service if isinstance(service, str) else "", tags)


def span_to_model(span: ReadableSpan, process: Process | None = None) -> Span:
    """One finished SDK span as the model; `process` lets a batch share one (built if None)."""
    ctx = span.context
    if ctx is None:
        raise ValueError(f"span {span.name!r} has no context")
    trace_id, span_id = ctx.trace_id, ctx.span_id
    tags: list[KeyValue] = []
    scope = span.instrumentation_scope
    if scope is not None and scope.name:
        tags.append(KeyValue("otel.scope.name", ValueType.STRING, scope.name))
    if scope is not None and scope.version:
        tags.append(KeyValue("otel.scope.version", ValueType.STRING, scope.version))
    tags += _key_values(span.attributes)
    status = span.status
    add_span_fields_as_tags(
        tags,
        _OTLP_KIND.get(span.kind, 0),
        int(status.status_code.value),
        status.description or "",
        ctx.trace_state.to_header() if ctx.trace_state else "",
    )
    refs: list[SpanRef] = []
    parent = span.parent.span_id if span.parent is not None else 0
    if parent:
        refs.append(SpanRef(SpanRefType.CHILD_OF, trace_id, parent))
    for link in span.links:
        lctx = link.context
        child_of = (link.attributes or {}).get("opentracing.ref_type") == "child_of"
        ref_type = SpanRefType.CHILD_OF if child_of else SpanRefType.FOLLOWS_FROM
        if parent and lctx.trace_id == trace_id and lctx.span_id == parent:
            # As Jaeger's OTLP translation: a link to the parent only says which kind it is.
            refs[0].ref_type = ref_type
            continue
        refs.append(SpanRef(ref_type, lctx.trace_id, lctx.span_id))
    logs = []
    for event in span.events:
        fields = _key_values(event.attributes)
        if event.name and not any(f.key == "event" for f in fields):
            fields.insert(0, KeyValue("event", ValueType.STRING, event.name))
        logs.append(Log(event.timestamp // 1000, fields))
    start = span.start_time or 0
    end = span.end_time or start
    return Span(
        trace_id,
        span_id,
        span.name,
        refs,
        FLAG_SAMPLED,
        start // 1000,
        max(0, (end - start) // 1000),
        tags,
        logs,
        process if process is not None else resource_to_process(span.resource),
    )


class AgentSpanExporter(SpanExporter):
    """Sends each export as `Agent.emitBatch` compact thrift datagrams, one per process and size.

    UDP gives no delivery report: SUCCESS means sent. A batch above `max_packet_size` is halved until
    each part fits; a single span too large for a datagram is dropped and counted.
    """

    def __init__(self, host: str, port: int, max_packet_size: int = AGENT_MAX_PACKET_SIZE) -> None:
        self._host, self._port = host, port
        self._sock: socket.socket | None = None
        self._max = max_packet_size
        self._lock = threading.Lock()
        self._processes: dict[int, tuple[Resource, Process]] = {}
        self.datagrams = 0
        self.dropped = 0
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        groups: dict[int, list[Span]] = {}
        for s in spans:
            groups.setdefault(id(s.resource), []).append(span_to_model(s, self._process(s.resource)))
        try:
            with self._lock:
                sock, addr = self._resolve()
                for group in groups.values():
                    for datagram in self.datagrams_for(group):
                        sock.sendto(datagram, addr)
                        self.datagrams += 1
        except OSError as e:
            log.warning("cannot send spans to the agent at %s:%d: %s", self._host, self._port, e)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _resolve(self) -> tuple[socket.socket, Any]:
        # Looked up on every export, not once: an agent container that is recreated comes back on
        # a new address, and one that is not up yet must not stop the demo from starting.
        family, kind, proto, _, addr = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_DGRAM)[0]
        if self._sock is None or self._sock.family != family:
            if self._sock is not None:
                self._sock.close()
            self._sock = socket.socket(family, kind, proto)
        return self._sock, addr

    def _process(self, resource: Resource) -> Process:
        # The SDK shares one Resource per provider; keeping it in the value pins its id().
        entry = self._processes.get(id(resource))
        if entry is None or entry[0] is not resource:
            entry = self._processes[id(resource)] = (resource, resource_to_process(resource))
        return entry[1]

    def datagrams_for(self, spans: list[Span]) -> list[bytes]:
        """`emitBatch` messages of at most `max_packet_size` bytes holding all of `spans` that fit."""
        message = encode_agent_message(spans, protocol="compact")
        if len(message) <= self._max:
            return [message]
        if len(spans) == 1:
            log.warning(
                "span %r is %d bytes as thrift, above the %d-byte datagram limit: dropped",
                spans[0].operation_name,
                len(message),
                self._max,
            )
            self.dropped += 1
            return []
        half = len(spans) // 2
        return self.datagrams_for(spans[:half]) + self.datagrams_for(spans[half:])

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            if self._sock is not None:
                self._sock.close()
