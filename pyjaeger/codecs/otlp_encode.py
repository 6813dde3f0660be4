"""Model → OTLP protobuf `ExportTraceServiceRequest`: the inverse of `otlp` decoding.

Spans are grouped into ResourceSpans by equal process and into ScopeSpans by the scope tags; the
tags decoding makes from span fields (`otel_translate`) go back into those fields, the parent
reference into `parent_span_id` and the other references into links. Decoding the result gives
the input back when the input is in decoding's canonical form (tag order, parent first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pyjaeger.codecs.otel_translate import KIND_NUMBERS, NO_SERVICE_NAME
from pyjaeger.codecs.otlp import SCALAR_FIELDS
from pyjaeger.model import FLAG_SAMPLED, KeyValue, Process, Span, SpanRefType, ValueType

__all__ = ["encode_export_request"]

_FIELD_OF_TYPE = {t: name for name, t in SCALAR_FIELDS.items()}


def encode_export_request(spans: Sequence[Span]) -> bytes:
    """The request carrying `spans`, for tests, benchmarks and re-export."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    resources: dict[tuple[object, ...], tuple[Any, dict[tuple[str, str], Any]]] = {}
    for span in spans:
        pkey = span.process.key()
        entry = resources.get(pkey)
        if entry is None:
            rs = req.resource_spans.add()
            _fill_resource(rs.resource, span.process)
            entry = resources[pkey] = (rs, {})
        rs, scopes = entry
        tags = span.tags
        scope_name, scope_version, tags = _split_scope(tags)
        ss = scopes.get((scope_name, scope_version))
        if ss is None:
            ss = scopes[(scope_name, scope_version)] = rs.scope_spans.add()
            ss.scope.name = scope_name
            ss.scope.version = scope_version
        _fill_span(ss.spans.add(), span, tags)
    return bytes(req.SerializeToString())


def _split_scope(tags: list[KeyValue]) -> tuple[str, str, list[KeyValue]]:
    """Scope name and version from the leading tags decode puts there, and the remaining tags."""
    name = version = ""
    i = 0
    if i < len(tags) and tags[i].key == "otel.scope.name" and isinstance(tags[i].value, str):
        name = str(tags[i].value)
        i += 1
    if i < len(tags) and tags[i].key == "otel.scope.version" and isinstance(tags[i].value, str):
        version = str(tags[i].value)
        i += 1
    return name, version, tags[i:]


def _fill_resource(resource: Any, process: Process) -> None:
    if process.service_name != NO_SERVICE_NAME or process.tags:
        _set_attribute(resource.attributes.add(), "service.name", ValueType.STRING, process.service_name)
    for kv in process.tags:
        _set_attribute(resource.attributes.add(), kv.key, kv.v_type, kv.value)


def _fill_span(o: Any, span: Span, tags: list[KeyValue]) -> None:
    o.trace_id = span.trace_id.to_bytes(16, "big")
    o.span_id = span.span_id.to_bytes(8, "big")
    o.name = span.operation_name
    o.start_time_unix_nano = span.start_time * 1000
    o.end_time_unix_nano = (span.start_time + span.duration) * 1000
    o.flags = 1 if span.flags & FLAG_SAMPLED else 0
    code = 0
    error = False
    for kv in tags:
        key, t, value = kv.key, kv.v_type, kv.value
        if t == ValueType.STRING and isinstance(value, str):
            if key == "span.kind" and value in KIND_NUMBERS:
                o.kind = KIND_NUMBERS[value]
                continue
            if key == "otel.status_code" and value.upper() in ("OK", "ERROR"):
                code = 1 if value.upper() == "OK" else 2
                continue
            if key == "otel.status_description":
                o.status.message = value
                continue
            if key == "w3c.tracestate":
                o.trace_state = value
                continue
        elif key == "error" and t == ValueType.BOOL and value is True:
            error = True
            continue
        _set_attribute(o.attributes.add(), key, t, value)
    o.status.code = 2 if error else code

    parent = span.parent_span_id
    if parent:
        o.parent_span_id = parent.to_bytes(8, "big")
    parent_ref_skipped = False
    for ref in span.references:
        if (
            not parent_ref_skipped
            and ref.ref_type == SpanRefType.CHILD_OF
            and ref.trace_id == span.trace_id
            and ref.span_id == parent
        ):
            parent_ref_skipped = True
            continue
        link = o.links.add()
        link.trace_id = ref.trace_id.to_bytes(16, "big")
        link.span_id = ref.span_id.to_bytes(8, "big")
        ref_type = "child_of" if ref.ref_type == SpanRefType.CHILD_OF else "follows_from"
        _set_attribute(link.attributes.add(), "opentracing.ref_type", ValueType.STRING, ref_type)

    for log in span.logs:
        ev = o.events.add()
        ev.time_unix_nano = log.timestamp * 1000
        fields = log.fields
        event_at = [i for i, f in enumerate(fields) if f.key == "event"]
        skip = -1
        if event_at and fields[event_at[0]].v_type == ValueType.STRING:
            ev.name = fields[event_at[0]].value
            # Only a lone leading non-empty `event` field is what decode would re-create from
            # the name; removing any other would not survive a round trip.
            if event_at == [0] and fields[0].value:
                skip = 0
        for i, f in enumerate(fields):
            if i != skip:
                _set_attribute(ev.attributes.add(), f.key, f.v_type, f.value)


def _set_attribute(o: Any, key: str, v_type: ValueType, value: object) -> None:
    o.key = key
    setattr(o.value, _FIELD_OF_TYPE[v_type], value)
