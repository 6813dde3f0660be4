"""OTLP protobuf ⇄ model: `ExportTraceServiceRequest` decoding (an ingest hot path) and its inverse.

Decoding follows Jaeger's OTLP translation (collector-contrib `traces_to_jaegerproto.go`): one
`Process` per ResourceSpans, span tags ordered scope, attributes, kind, status, tracestate; links
become references; events become logs. Spans whose own ids are invalid are counted as rejected
(OTLP partial success) rather than failing the batch. The translation constants and the Go-style
JSON rendering of array/kvlist values are shared with `otlp_json`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.protobuf.message import DecodeError as _ProtoDecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.model import FLAG_SAMPLED, KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = [
    "DecodeResult",
    "decode_export_request",
    "encode_export_response",
    "encode_export_request",
    "NO_SERVICE_NAME",
    "SPAN_KINDS",
    "STATUS_CODES",
    "rejection_message",
    "add_span_fields_as_tags",
    "render_json_value",
]

NO_SERVICE_NAME = "OTLPResourceNoServiceName"
# Indexed by the OTLP SpanKind / StatusCode numbers; "" means the value produces no tag.
SPAN_KINDS = ("", "internal", "server", "client", "producer", "consumer")
STATUS_CODES = ("", "OK", "ERROR")

_KIND_NUMBERS = {name: i for i, name in enumerate(SPAN_KINDS) if name}
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


@dataclass(slots=True)
class DecodeResult:
    spans: list[Span]
    rejected: int = 0  # spans refused for invalid content, reported as OTLP partial success
    error_message: str = ""  # why, for the partial-success response; "" when rejected == 0


def add_span_fields_as_tags(
    tags: list[KeyValue], kind: int, code: int, message: str, trace_state: str
) -> None:
    """Jaeger's translation of OTLP span fields to tags, after the attributes: `span.kind`,
    `otel.status_code` (+ `error=true` for ERROR), `otel.status_description`, `w3c.tracestate`."""
    add = tags.append
    if 0 < kind < len(SPAN_KINDS):
        add(KeyValue("span.kind", ValueType.STRING, SPAN_KINDS[kind]))
    if 0 < code < len(STATUS_CODES):
        add(KeyValue("otel.status_code", ValueType.STRING, STATUS_CODES[code]))
        if code == 2:
            add(KeyValue("error", ValueType.BOOL, True))
    if message:
        add(KeyValue("otel.status_description", ValueType.STRING, message))
    if trace_state:
        add(KeyValue("w3c.tracestate", ValueType.STRING, trace_state))


def rejection_message(rejected: int, first_reason: str) -> str:
    """The partial-success text: how many spans were refused and why the first one was."""
    return f"{rejected} span(s) rejected; first: {first_reason}" if rejected else ""


def decode_export_request(data: bytes) -> DecodeResult:
    """Decode ExportTraceServiceRequest bytes; DecodeError only when protobuf cannot parse them."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    try:
        req.ParseFromString(data)
    except _ProtoDecodeError as e:
        raise DecodeError(f"ExportTraceServiceRequest: {e}") from None
    return _convert(req)


def _convert(req: Any) -> DecodeResult:
    # Written as one loop nest with local aliases: this is where ingest spends its time.
    kv_ = KeyValue
    log_ = Log
    span_ = Span
    ref_ = SpanRef
    from_bytes = int.from_bytes
    which = common_pb2.AnyValue.WhichOneof
    string, boolean, int64, float64, binary = ValueType  # members in definition order
    child_of = SpanRefType.CHILD_OF
    zero_trace, zero_span = _ZERO_TRACE, _ZERO_SPAN

    spans: list[Span] = []
    keep = spans.append
    rejected = 0
    first_reason = ""
    for ri, rs in enumerate(req.resource_spans):
        process = _process(rs.resource.attributes)
        for si, ss in enumerate(rs.scope_spans):
            scope = ss.scope
            scope_name = scope.name
            scope_version = scope.version
            for pi, sp in enumerate(ss.spans):
                tid_b = sp.trace_id
                sid_b = sp.span_id
                if len(tid_b) != 16 or len(sid_b) != 8 or tid_b == zero_trace or sid_b == zero_span:
                    rejected += 1
                    if not first_reason:
                        where = f"resource_spans[{ri}].scope_spans[{si}].spans[{pi}]"
                        first_reason = f"{where}: {_id_problem(tid_b, sid_b)}"
                    continue
                tid = from_bytes(tid_b, "big")
                warnings: list[str] | None = None

                tags: list[KeyValue] = []
                add = tags.append
                if scope_name:
                    add(kv_("otel.scope.name", string, scope_name))
                if scope_version:
                    add(kv_("otel.scope.version", string, scope_version))
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
                status = sp.status
                add_span_fields_as_tags(tags, sp.kind, status.code, status.message, sp.trace_state)

                refs: list[SpanRef] = []
                parent_b = sp.parent_span_id
                parent = 0
                if parent_b:
                    if len(parent_b) == 8:
                        parent = from_bytes(parent_b, "big")
                        if parent:
                            refs.append(ref_(child_of, tid, parent))
                    else:
                        warnings = [f"invalid parent_span_id ({len(parent_b)} bytes) dropped"]
                links = sp.links
                if links:
                    warnings = _link_refs(links, refs, tid, parent, warnings)

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

                start = sp.start_time_unix_nano
                duration = (sp.end_time_unix_nano - start) // 1000
                if duration < 0:
                    duration = 0
                # Flag 1 always: SDKs export only sampled spans, yet most send flags 0x100 alone.
                sid = from_bytes(sid_b, "big")
                keep(
                    span_(tid, sid, sp.name, refs, 1, start // 1000, duration, tags, logs, process, warnings)
                )
    return DecodeResult(spans, rejected, rejection_message(rejected, first_reason))


def _id_problem(trace_id: bytes, span_id: bytes) -> str:
    if len(trace_id) != 16:
        return f"trace_id must be 16 bytes, got {len(trace_id)}"
    if trace_id == _ZERO_TRACE:
        return "trace_id is all zero"
    if len(span_id) != 8:
        return f"span_id must be 8 bytes, got {len(span_id)}"
    return "span_id is zero"


def _process(attributes: Any) -> Process:
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
        v_type, value = _any_value(a.value)
        tags.append(KeyValue(key, v_type, value))
    return Process(service, tags)


def _link_refs(
    links: Any, refs: list[SpanRef], trace_id: int, parent: int, warnings: list[str] | None
) -> list[str] | None:
    for li, link in enumerate(links):
        ltid_b = link.trace_id
        lsid_b = link.span_id
        if len(ltid_b) != 16 or len(lsid_b) != 8:
            warnings = (warnings or []) + [f"link {li}: invalid trace_id/span_id length, link dropped"]
            continue
        ref_type = SpanRefType.FOLLOWS_FROM
        for a in link.attributes:
            if a.key == "opentracing.ref_type" and a.value.string_value == "child_of":
                ref_type = SpanRefType.CHILD_OF
                break
        ltid = int.from_bytes(ltid_b, "big")
        lsid = int.from_bytes(lsid_b, "big")
        if parent and ltid == trace_id and lsid == parent:
            # The parent reference is already first; the link only says which kind it is.
            refs[0].ref_type = ref_type
            continue
        refs.append(SpanRef(ref_type, ltid, lsid))
    return warnings


_SCALAR_FIELDS = {
    "string_value": ValueType.STRING,
    "bool_value": ValueType.BOOL,
    "int_value": ValueType.INT64,
    "double_value": ValueType.FLOAT64,
    "bytes_value": ValueType.BINARY,
}
_FIELD_OF_TYPE = {t: name for name, t in _SCALAR_FIELDS.items()}


def _any_value(v: Any) -> tuple[ValueType, Any]:
    w = v.WhichOneof("value")
    v_type = _SCALAR_FIELDS.get(w)
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


def render_json_value(raw: object) -> str:
    """`raw` (None/bool/int/float/str/bytes/list/dict) as Go's json.Marshal writes it.

    That is what Jaeger stores for array and kvlist attributes: sorted keys, HTML characters
    escaped, ES6 float formatting, bytes as base64, and "" when a NaN or infinity makes
    json.Marshal fail.
    """
    try:
        return _go_json(raw)
    except ValueError:
        return ""


def _go_json(x: object) -> str:
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, str):
        return _go_str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return _go_float(x)
    if isinstance(x, bytes):
        return '"' + base64.b64encode(x).decode("ascii") + '"'
    if isinstance(x, list):
        return "[" + ",".join([_go_json(e) for e in x]) + "]"
    if isinstance(x, dict):
        return "{" + ",".join([_go_str(k) + ":" + _go_json(x[k]) for k in sorted(x)]) + "}"
    raise ValueError(f"unsupported value {type(x).__name__}")


_GO_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _go_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).translate(_GO_HTML_ESCAPES)


def _go_float(f: float) -> str:
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("unsupported float")
    r = repr(f)
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        mantissa, exp = r.split("e")
        return f"{mantissa}e{exp[0]}{exp[1:].lstrip('0')}"
    if "e" in r:
        r = format(Decimal(r), "f")
    return r[:-2] if r.endswith(".0") else r


def encode_export_response(rejected: int = 0, error_message: str = "") -> bytes:
    """ExportTraceServiceResponse; partial_success is set only when there is something to say."""
    resp = trace_service_pb2.ExportTraceServiceResponse()
    if rejected or error_message:
        resp.partial_success.rejected_spans = rejected
        resp.partial_success.error_message = error_message
    return bytes(resp.SerializeToString())


def encode_export_request(spans: Sequence[Span]) -> bytes:
    """The inverse of `decode_export_request`, for tests, benchmarks and re-export.

    Spans are grouped into ResourceSpans by equal process and into ScopeSpans by the scope tags;
    the tags decode produces from span fields go back into those fields. Decoding the result
    gives the input back when the input is in decode's canonical form (tag order, parent first).
    """
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
            if key == "span.kind" and value in _KIND_NUMBERS:
                o.kind = _KIND_NUMBERS[value]
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
