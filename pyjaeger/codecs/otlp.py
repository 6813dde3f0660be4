"""OTLP protobuf → model: `ExportTraceServiceRequest` decoding (an ingest hot path) and the response.

Decoding follows Jaeger's OTLP translation (`otel_translate`): one `Process` per ResourceSpans,
links become references, events become logs. Spans whose own ids are invalid are counted as
rejected (OTLP partial success) rather than failing the batch. The inverse is `otlp_encode`.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from pyjaeger.codecs.errors import parse_protobuf
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.codecs.otel_translate import (
    NO_SERVICE_NAME,
    DecodeResult,
    link_ref_type,
    otel_span,
    render_json_value,
    span_tags,
)
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRefType, ValueType

__all__ = [
    "decode_export_request",
    "encode_export_response",
    "resource_process",
    "scope_spans_to_model",
    "id_problem",
    "SCALAR_FIELDS",
    "any_value",
]

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def decode_export_request(data: bytes) -> DecodeResult:
    """Decode ExportTraceServiceRequest bytes; DecodeError only when protobuf cannot parse them."""
    req = parse_protobuf(trace_service_pb2.ExportTraceServiceRequest(), data)
    return _convert(req)


def _convert(req: Any) -> DecodeResult:
    spans: list[Span] = []
    rejected = 0
    first_reason = ""
    for ri, rs in enumerate(req.resource_spans):
        process = resource_process(rs.resource.attributes)
        for si, ss in enumerate(rs.scope_spans):
            n, reason = scope_spans_to_model(ss, process, spans, f"resource_spans[{ri}].scope_spans[{si}]")
            rejected += n
            first_reason = first_reason or reason
    return DecodeResult(spans, rejected, rejection_message(rejected, first_reason), first_reason)


def scope_spans_to_model(ss: Any, process: Process, out: list[Span], where: str) -> tuple[int, str]:
    """The spans of one ScopeSpans message appended to `out`; (spans refused, the first's reason)."""
    # Written as one loop with local aliases: this is where ingest spends its time.
    kv_ = KeyValue
    log_ = Log
    from_bytes = int.from_bytes
    which = common_pb2.AnyValue.WhichOneof
    string, boolean, int64, float64, binary = ValueType  # members in definition order
    zero_trace, zero_span = _ZERO_TRACE, _ZERO_SPAN
    keep = out.append
    rejected = 0
    first_reason = ""
    scope = ss.scope
    scope_name = scope.name
    scope_version = scope.version
    for pi, sp in enumerate(ss.spans):
        tid_b = sp.trace_id
        sid_b = sp.span_id
        if len(tid_b) != 16 or len(sid_b) != 8 or tid_b == zero_trace or sid_b == zero_span:
            rejected += 1
            if not first_reason:
                first_reason = f"{where}.spans[{pi}]: {id_problem(tid_b, sid_b)}"
            continue
        tid = from_bytes(tid_b, "big")
        warnings: list[str] | None = None

        tags = span_tags(scope_name, scope_version)
        add = tags.append
        for a in sp.attributes:
            v = a.value
            # A non-empty string_value settles the oneof without asking which is set.
            s = v.string_value
            if s:
                add(kv_(a.key, string, s))
                continue
            w = which(v, "value")
            if w == "string_value":
                add(kv_(a.key, string, s))
            elif w == "int_value":
                add(kv_(a.key, int64, v.int_value))
            elif w == "bool_value":
                add(kv_(a.key, boolean, v.bool_value))
            elif w == "double_value":
                add(kv_(a.key, float64, v.double_value))
            elif w == "bytes_value":
                add(kv_(a.key, binary, v.bytes_value))
            else:
                add(kv_(a.key, string, _compound(v, w)))

        parent_b = sp.parent_span_id
        parent = 0
        if parent_b:
            if len(parent_b) == 8:
                parent = from_bytes(parent_b, "big")
            else:
                warnings = [f"invalid parent_span_id ({len(parent_b)} bytes) dropped"]
        links: list[tuple[int, int, SpanRefType]] = []
        if sp.links:
            warnings = _links(sp.links, links, warnings)

        logs: list[Log] = []
        for ev in sp.events:
            name = ev.name
            fields = [kv_("event", string, name)] if name else []
            put = fields.append
            for a in ev.attributes:
                key = a.key
                if key == "event" and name:
                    # An `event` attribute replaces the field the name would give.
                    del fields[0]
                    name = ""
                v = a.value
                s = v.string_value
                if s:
                    put(kv_(key, string, s))
                    continue
                w = which(v, "value")
                if w == "string_value":
                    put(kv_(key, string, s))
                elif w == "int_value":
                    put(kv_(key, int64, v.int_value))
                elif w == "bool_value":
                    put(kv_(key, boolean, v.bool_value))
                elif w == "double_value":
                    put(kv_(key, float64, v.double_value))
                elif w == "bytes_value":
                    put(kv_(key, binary, v.bytes_value))
                else:
                    put(kv_(key, string, _compound(v, w)))
            logs.append(log_(ev.time_unix_nano // 1000, fields))

        status = sp.status
        keep(
            otel_span(
                tid,
                from_bytes(sid_b, "big"),
                sp.name,
                tags,
                sp.kind,
                status.code,
                status.message,
                sp.trace_state,
                parent,
                links,
                logs,
                sp.start_time_unix_nano,
                sp.end_time_unix_nano,
                process,
                warnings,
            )
        )
    return rejected, first_reason


def id_problem(trace_id: bytes, span_id: bytes) -> str:
    if len(trace_id) != 16:
        return f"trace_id must be 16 bytes, got {len(trace_id)}"
    if trace_id == _ZERO_TRACE:
        return "trace_id is all zero"
    if len(span_id) != 8:
        return f"span_id must be 8 bytes, got {len(span_id)}"
    return "span_id is zero"


def resource_process(attributes: Any) -> Process:
    if not attributes:
        return Process(NO_SERVICE_NAME, [])
    service = ""
    seen_service = False
    tags: list[KeyValue] = []
    for a in attributes:
        key = a.key
        if key == "service.name":
            # Jaeger takes the first one (as a string, "" otherwise) and drops every copy.
            if not seen_service:
                seen_service = True
                service = a.value.string_value
            continue
        v_type, value = any_value(a.value)
        tags.append(KeyValue(key, v_type, value))
    return Process(service, tags)


def _links(
    links: Any, out: list[tuple[int, int, SpanRefType]], warnings: list[str] | None
) -> list[str] | None:
    for li, link in enumerate(links):
        ltid_b = link.trace_id
        lsid_b = link.span_id
        if len(ltid_b) != 16 or len(lsid_b) != 8:
            warnings = (warnings or []) + [f"link {li}: invalid trace_id/span_id length, link dropped"]
            continue
        ref_type = link_ref_type(
            a.value.string_value for a in link.attributes if a.key == "opentracing.ref_type"
        )
        out.append((int.from_bytes(ltid_b, "big"), int.from_bytes(lsid_b, "big"), ref_type))
    return warnings


SCALAR_FIELDS = {
    "string_value": ValueType.STRING,
    "bool_value": ValueType.BOOL,
    "int_value": ValueType.INT64,
    "double_value": ValueType.FLOAT64,
    "bytes_value": ValueType.BINARY,
}


def any_value(v: Any) -> tuple[ValueType, Any]:
    """An attribute value as the span tag decoding makes of it: (value type, value)."""
    w = v.WhichOneof("value")
    v_type = SCALAR_FIELDS.get(w)
    if v_type is None:
        return ValueType.STRING, _compound(v, w)
    return v_type, getattr(v, w)


def _compound(v: Any, which: str | None) -> str:
    """Arrays and kvlists as pcommon's AsString renders them; empty (or unknown) values as ""."""
    if which == "array_value" or which == "kvlist_value":
        return render_json_value(_raw(v))
    return ""


def _raw(v: Any) -> object:
    w = v.WhichOneof("value")
    if w == "array_value":
        return [_raw(x) for x in v.array_value.values]
    if w == "kvlist_value":
        # A Go map: a repeated key keeps its last value.
        return {kv.key: _raw(kv.value) for kv in v.kvlist_value.values}
    if w is None or w == "string_value_strindex":
        return None
    return getattr(v, w)


def encode_export_response(rejected: int = 0, error_message: str = "") -> bytes:
    """ExportTraceServiceResponse; partial_success is set only when there is something to say."""
    resp = trace_service_pb2.ExportTraceServiceResponse()
    if rejected or error_message:
        resp.partial_success.rejected_spans = rejected
        resp.partial_success.error_message = error_message
    return bytes(resp.SerializeToString())
