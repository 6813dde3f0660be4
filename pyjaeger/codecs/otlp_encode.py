"""Model → OTLP protobuf (`ExportTraceServiceRequest`, `TracesData`): the inverse of `otlp` decoding.

Decoding (`otel_translate`) turns OTLP span fields into tags; this module turns them back, so
that a span decoded from OTLP encodes to what was received, up to what the Jaeger model cannot
hold (nanoseconds below the µs, dropped counts, trace flags but the sampled bit, link attributes
and trace state, scope attributes, schema URLs; arrays and kvlists stay the JSON text they were
stored as):

- spans are grouped into ResourceSpans by equal process: `service.name` (left out for
  `OTLPResourceNoServiceName` without tags, as decoding names such a resource) and the process
  tags are the resource attributes;
- within a resource, into ScopeSpans by the scope tags `otel.scope.name`/`otel.scope.version`
  (or, in data older OTel translators wrote, `otel.library.name`/`otel.library.version`),
  wherever the tags are (adjusters sort them), and the tags are removed;
- `span.kind` (a known kind) is the kind; `error=true` (bool) or `otel.status_code` OK/ERROR
  (any case) the status, `otel.status_description` its message; `w3c.tracestate` the trace
  state; all of them removed;
- the parent reference (Jaeger's rule, `Span.parent_span_id`) is `parent_span_id`, every other
  reference a link with an `opentracing.ref_type` attribute (`child_of` or `follows_from`, as
  Jaeger writes it);
- logs are events: a leading string `event` field is the event's name.

Decoding the result gives the input back when the input is in decoding's canonical form (tag
order, parent first). Times outside what OTLP's unsigned nanoseconds can hold (before 1970, after
2554) are clamped to its range (`unix_nano`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.codecs.otel_translate import KIND_NUMBERS, NO_SERVICE_NAME, STATUS_ERROR, STATUS_NUMBERS
from pyjaeger.codecs.otlp import SCALAR_FIELDS
from pyjaeger.model import FLAG_SAMPLED, KeyValue, Process, Span, SpanRefType, ValueType

__all__ = [
    "STATUS_ERROR",
    "encode_export_request",
    "export_request",
    "traces_data",
    "span_status_code",
    "resource_service_name",
    "unix_nano",
]

_FIELD_OF_TYPE = {t: name for name, t in SCALAR_FIELDS.items()}
_MAX_UNIX_NANO = (1 << 64) - 1
_STRING = ValueType.STRING
_BOOL = ValueType.BOOL
# Scope tag keys: the current names, then those of translators before 2023.
_SCOPE_KEYS = ("otel.scope.name", "otel.scope.version")
_LIBRARY_KEYS = ("otel.library.name", "otel.library.version")
_SCOPE_KEY_SLOT = {_SCOPE_KEYS[0]: 0, _SCOPE_KEYS[1]: 1, _LIBRARY_KEYS[0]: 2, _LIBRARY_KEYS[1]: 3}


def encode_export_request(spans: Sequence[Span]) -> bytes:
    """The request carrying `spans`, serialized, for tests, benchmarks and re-export."""
    return bytes(export_request(spans).SerializeToString())


def export_request(spans: Iterable[Span]) -> Any:
    """An `ExportTraceServiceRequest` carrying `spans`, grouped by resource and scope."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    _add_resource_spans(req.resource_spans, spans)
    return req


def traces_data(traces: Iterable[Iterable[Span]]) -> Any:
    """A `TracesData` carrying each group of spans (a trace) grouped on its own, then appended,
    as Jaeger's api_v3 combines the traces it answers with."""
    data = trace_pb2.TracesData()
    for spans in traces:
        _add_resource_spans(data.resource_spans, spans)
    return data


def unix_nano(us: int) -> int:
    """µs since epoch as OTLP's unsigned 64-bit nanoseconds, clamped to their range."""
    ns = us * 1000
    if ns < 0:
        return 0
    return ns if ns <= _MAX_UNIX_NANO else _MAX_UNIX_NANO


def resource_service_name(process: Process) -> str:
    """The resource's `service.name` the process becomes ("" when it has none)."""
    if process.service_name == NO_SERVICE_NAME and not process.tags:
        return ""
    return process.service_name


def span_status_code(span: Span) -> int:
    """The OTLP status code the span's tags encode to (0 UNSET, 1 OK, 2 ERROR)."""
    return _span_fields(span.tags)[1]


# The tags that are OTLP span fields, taken out: (kind, status code, status message, trace
# state, scope name, scope version, remaining tags).
_SpanFields = tuple[int, int, str, str, str, str, list[KeyValue]]


def _span_fields(tags: list[KeyValue]) -> _SpanFields:
    kind = code = 0
    error = False
    message = trace_state = ""
    rest: list[KeyValue] = []
    keep = rest.append
    # Positions in `rest` of the first string tag of each scope key (see _SCOPE_KEY_SLOT).
    scope_at: list[int] | None = None
    for kv in tags:
        key, value = kv.key, kv.value
        if isinstance(value, str):  # a STRING tag: the model keeps value types and v_type in step
            if key == "span.kind":
                number = KIND_NUMBERS.get(value)
                if number is not None:
                    kind = number
                    continue
            elif key == "otel.status_code":
                status = STATUS_NUMBERS.get(value.upper())
                if status is not None:
                    code = status
                    continue
            elif key == "otel.status_description":
                message = value
                continue
            elif key == "w3c.tracestate":
                trace_state = value
                continue
            else:
                slot = _SCOPE_KEY_SLOT.get(key)
                if slot is not None:
                    if scope_at is None:
                        scope_at = [-1, -1, -1, -1]
                    if scope_at[slot] < 0:
                        scope_at[slot] = len(rest)
        elif value is True and key == "error" and kv.v_type == _BOOL:
            error = True
            continue
        keep(kv)
    if error:
        code = STATUS_ERROR
    name = version = ""
    if scope_at is not None:
        # The current keys win; the old ones count only when neither current key is there.
        at = scope_at[:2] if scope_at[0] >= 0 or scope_at[1] >= 0 else scope_at[2:]
        if at[0] >= 0:
            name = str(rest[at[0]].value)
        if at[1] >= 0:
            version = str(rest[at[1]].value)
        for i in sorted((i for i in at if i >= 0), reverse=True):
            del rest[i]
    return kind, code, message, trace_state, name, version, rest


def _add_resource_spans(out: Any, spans: Iterable[Span]) -> None:
    resources: dict[tuple[object, ...], tuple[Any, dict[tuple[str, str], Any]]] = {}
    by_process: dict[int, tuple[Any, dict[tuple[str, str], Any]]] = {}  # id(process) → entry
    for span in spans:
        process = span.process
        # Spans of a batch share their Process object; its key is built once per object.
        entry = by_process.get(id(process))
        if entry is None:
            pkey = process.key()
            entry = resources.get(pkey)
            if entry is None:
                rs = out.add()
                _fill_resource(rs.resource, process)
                entry = resources[pkey] = (rs, {})
            by_process[id(process)] = entry
        rs, scopes = entry
        fields = _span_fields(span.tags)
        scope_key = (fields[4], fields[5])
        ss = scopes.get(scope_key)
        if ss is None:
            ss = scopes[scope_key] = rs.scope_spans.add()
            ss.scope.name, ss.scope.version = scope_key
        _fill_span(ss.spans.add(), span, fields)


def _fill_resource(resource: Any, process: Process) -> None:
    if process.service_name != NO_SERVICE_NAME or process.tags:
        _set_attribute(resource.attributes.add(), "service.name", _STRING, process.service_name)
    for kv in process.tags:
        _set_attribute(resource.attributes.add(), kv.key, kv.v_type, kv.value)


def _fill_span(o: Any, span: Span, fields: _SpanFields) -> None:
    kind, code, message, trace_state, _, _, tags = fields
    o.trace_id = span.trace_id.to_bytes(16, "big")
    o.span_id = span.span_id.to_bytes(8, "big")
    o.name = span.operation_name
    o.start_time_unix_nano = unix_nano(span.start_time)
    o.end_time_unix_nano = unix_nano(span.start_time + span.duration)
    o.flags = 1 if span.flags & FLAG_SAMPLED else 0
    if kind:
        o.kind = kind
    if trace_state:
        o.trace_state = trace_state
    o.status.code = code
    o.status.message = message
    for kv in tags:
        _set_attribute(o.attributes.add(), kv.key, kv.v_type, kv.value)

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
        _set_attribute(link.attributes.add(), "opentracing.ref_type", _STRING, ref_type)

    for log in span.logs:
        ev = o.events.add()
        ev.time_unix_nano = unix_nano(log.timestamp)
        fields_ = log.fields
        event_at = [i for i, f in enumerate(fields_) if f.key == "event"]
        skip = -1
        if event_at and fields_[event_at[0]].v_type == _STRING:
            ev.name = fields_[event_at[0]].value
            # Only a lone leading non-empty `event` field is what decode would re-create from
            # the name; removing any other would not survive a round trip.
            if event_at == [0] and fields_[0].value:
                skip = 0
        for i, f in enumerate(fields_):
            if i != skip:
                _set_attribute(ev.attributes.add(), f.key, f.v_type, f.value)


def _set_attribute(o: Any, key: str, v_type: ValueType, value: object) -> None:
    o.key = key
    setattr(o.value, _FIELD_OF_TYPE[v_type], value)
