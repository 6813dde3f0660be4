"""OTLP/JSON → model, and the JSON ExportTraceServiceResponse.

OTLP/JSON is protobuf's JSON mapping with OTLP's exceptions: ids are hex (any case), enums are
integers (names are accepted too), 64-bit integers are decimal strings or numbers, unknown fields
are ignored. The original snake_case field names are accepted as well, as protobuf parsers do.
The translation to the model is `otel_translate`'s, as for protobuf; both must give equal spans.

Broken structure (not JSON, a list where an object belongs, non-hex ids, a non-numeric time) is a
DecodeError naming the JSON path; a well-formed span whose own id has the wrong length or is zero
is counted as rejected, as in the protobuf codec.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.codecs.otel_translate import (
    NO_SERVICE_NAME,
    SPAN_KINDS,
    STATUS_CODES,
    DecodeResult,
    link_ref_type,
    otel_span,
    render_json_value,
    span_tags,
)
from pyjaeger.codecs.proto_json import (
    Invalid,
    camel,
    describe,
    hex_id,
    json_array,
    json_base64,
    json_double,
    json_enum,
    json_int,
    json_object,
    json_string,
)
from pyjaeger.gotext import json as go_json
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRefType, ValueType

__all__ = ["decode_export_json", "encode_export_response_json"]

_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_KIND_NAMES = {f"SPAN_KIND_{(kind or 'unspecified').upper()}": i for i, kind in enumerate(SPAN_KINDS)}
_CODE_NAMES = {f"STATUS_CODE_{code or 'UNSET'}": i for i, code in enumerate(STATUS_CODES)}
# AnyValue's oneof in both spellings -> a number the value decoder switches on (5, 6: compound).
_ANY_FIELDS = {
    spelling: i
    for i, base in enumerate(("string", "bool", "int", "double", "bytes", "array", "kvlist"))
    for spelling in (f"{base}Value", f"{base}_value")
}

# Indexed by AnyValue kind; an empty AnyValue (kind -1) is a STRING "" like in Jaeger.
_SCALAR_TYPES = (
    ValueType.STRING,
    ValueType.BOOL,
    ValueType.INT64,
    ValueType.FLOAT64,
    ValueType.BINARY,
    ValueType.STRING,
)


def decode_export_json(data: bytes) -> DecodeResult:
    """Decode an OTLP/JSON ExportTraceServiceRequest body."""
    try:
        doc = go_json.loads(data)
    except ValueError as e:
        raise DecodeError(f"invalid JSON: {e}") from None
    try:
        return _convert(doc)
    except Invalid as e:
        raise DecodeError(f"{e.path or '(top level)'}: {e.reason}") from None
    except RecursionError:
        raise DecodeError("attribute values nested too deeply") from None


def encode_export_response_json(rejected: int = 0, error_message: str = "") -> bytes:
    """`{}`, or a partialSuccess carrying only its non-default fields (int64 as a string)."""
    if not rejected and not error_message:
        return b"{}"
    partial: dict[str, str] = {}
    if rejected:
        partial["rejectedSpans"] = str(rejected)
    if error_message:
        partial["errorMessage"] = error_message
    return orjson.dumps({"partialSuccess": partial})


def _convert(doc: object) -> DecodeResult:
    spans: list[Span] = []
    keep = spans.append
    rejected = 0
    first_reason = ""
    i = j = k = -1
    try:
        top = json_object(doc, "")
        for i, rs in enumerate(json_array(top.get("resourceSpans"), "resourceSpans")):
            j = k = -1
            rs = json_object(rs, "")
            process = _process(json_object(rs.get("resource"), "resource"))
            for j, ss in enumerate(json_array(rs.get("scopeSpans"), "scopeSpans")):
                k = -1
                ss = json_object(ss, "")
                scope = json_object(ss.get("scope"), "scope")
                scope_name = json_string(scope.get("name"), "scope.name")
                scope_version = json_string(scope.get("version"), "scope.version")
                for k, sp in enumerate(json_array(ss.get("spans"), "spans")):
                    if type(sp) is not dict:
                        raise Invalid("", "expected an object")
                    get = camel(sp).get
                    tid_h = hex_id(get("traceId"), "traceId")
                    sid_h = hex_id(get("spanId"), "spanId")
                    tid = int(tid_h, 16) if len(tid_h) == 32 else 0
                    sid = int(sid_h, 16) if len(sid_h) == 16 else 0
                    if not tid or not sid:
                        rejected += 1
                        if not first_reason:
                            where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                            first_reason = f"{where}: {_id_problem(tid_h, sid_h)}"
                        continue
                    warnings: list[str] | None = None

                    tags = span_tags(scope_name, scope_version)
                    _attributes(get("attributes"), tags, "attributes")
                    kind = json_enum(get("kind"), "kind", _KIND_NAMES)
                    status = json_object(get("status"), "status")
                    code = json_enum(status.get("code"), "status.code", _CODE_NAMES)
                    message = json_string(status.get("message"), "status.message")
                    trace_state = json_string(get("traceState"), "traceState")

                    parent_h = hex_id(get("parentSpanId"), "parentSpanId")
                    parent = 0
                    if parent_h:
                        if len(parent_h) == 16:
                            parent = int(parent_h, 16)
                        else:
                            warnings = [f"invalid parentSpanId ({len(parent_h)} hex digits) dropped"]
                    links: list[tuple[int, int, SpanRefType]] = []
                    items = get("links")
                    if items is not None:
                        warnings = _links(items, links, warnings)

                    logs: list[Log] = []
                    events = get("events")
                    if events is not None:
                        _events(events, logs)

                    start = json_int(get("startTimeUnixNano"), "startTimeUnixNano", 0, _U64)
                    end = json_int(get("endTimeUnixNano"), "endTimeUnixNano", 0, _U64)
                    flags = get("flags")
                    if flags is not None:
                        json_int(flags, "flags", 0, _U32)  # validated only: otel_translate says why flag 1
                    name = json_string(get("name"), "name")
                    keep(
                        otel_span(
                            tid,
                            sid,
                            name,
                            tags,
                            kind,
                            code,
                            message,
                            trace_state,
                            parent,
                            links,
                            logs,
                            start,
                            end,
                            process,
                            warnings,
                        )
                    )
    except Invalid as e:
        where = ""
        if i >= 0:
            where = f"resourceSpans[{i}]"
            if j >= 0:
                where += f".scopeSpans[{j}]"
                if k >= 0:
                    where += f".spans[{k}]"
        raise e.under(where) if where else e from None
    return DecodeResult(spans, rejected, rejection_message(rejected, first_reason), first_reason)


def _id_problem(trace_hex: str, span_hex: str) -> str:
    if len(trace_hex) != 32:
        return f"traceId must be 32 hex digits, got {len(trace_hex)}"
    if len(span_hex) == 16:
        return "traceId is all zero" if not int(trace_hex, 16) else "spanId is zero"
    return f"spanId must be 16 hex digits, got {len(span_hex)}"


def _process(resource: dict[str, Any]) -> Process:
    items = resource.get("attributes")
    tags: list[KeyValue] = []
    _attributes(items, tags, "resource.attributes")
    if not tags:
        return Process(NO_SERVICE_NAME, [])
    if all(kv.key != "service.name" for kv in tags):
        return Process("", tags)
    # Jaeger takes the first service.name when it is a string ("" otherwise), drops every copy.
    first = next(a for a in json_array(items, "") if a.get("key") == "service.name")
    kind, value = _any(first.get("value"))
    return Process(value if kind == 0 else "", [kv for kv in tags if kv.key != "service.name"])


def _attributes(items: object, out: list[KeyValue], field: str) -> bool:
    """Append the KeyValue list `items` to `out`; True when one of the keys is `event`."""
    if items is None:
        return False
    if type(items) is not list:
        raise Invalid(field, f"expected a list, got {describe(items)}")
    kv_ = KeyValue
    string = ValueType.STRING
    add = out.append
    has_event = False
    for n, a in enumerate(items):
        try:
            if type(a) is not dict:
                raise Invalid("", "expected an object")
            key = a.get("key")
            if type(key) is not str:
                key = json_string(key, "key")
            if key == "event":
                has_event = True
            v = a.get("value")
            if type(v) is dict and len(v) == 1:
                # Fast path for the common case: a single string value.
                s = v.get("stringValue")
                if type(s) is str:
                    add(kv_(key, string, s))
                    continue
            try:
                kind, value = _any(v)
            except Invalid as e:
                raise e.under("value") from None
            if kind < 5:
                add(kv_(key, _SCALAR_TYPES[kind], value))
            else:
                add(kv_(key, string, render_json_value(value)))
        except Invalid as e:
            raise e.under(f"{field}[{n}]") from None
    return has_event


def _any(v: object) -> tuple[int, Any]:
    """(kind, value) of an AnyValue: kind is its _ANY_FIELDS number and value plain Python
    (list/dict for compounds); (-1, "") when the value is empty."""
    if v is None:
        return -1, ""
    if type(v) is not dict:
        raise Invalid("", f"expected an AnyValue object, got {describe(v)}")
    for key, x in v.items():
        kind = _ANY_FIELDS.get(key)
        if kind is None or x is None:
            continue  # unknown fields are ignored; null means unset
        if kind == 0:
            return 0, json_string(x, key)
        if kind == 1:
            if type(x) is not bool:
                raise Invalid(key, f"expected true or false, got {describe(x)}")
            return 1, x
        if kind == 2:
            return 2, json_int(x, key, _I64_MIN, _I64_MAX)
        if kind == 3:
            return 3, json_double(x, key)
        if kind == 4:
            return 4, json_base64(x, key)
        values = json_array(json_object(x, key).get("values"), f"{key}.values")
        out_list: list[object] = []
        out_map: dict[str, object] = {}
        for n, item in enumerate(values):
            try:
                if kind == 5:
                    out_list.append(_raw(item))
                else:
                    kv = json_object(item, "")
                    # A Go map: a repeated key keeps its last value.
                    out_map[json_string(kv.get("key"), "key")] = _raw(kv.get("value"))
            except Invalid as e:
                raise e.under(f"{key}.values[{n}]") from None
        return kind, out_list if kind == 5 else out_map
    return -1, ""


def _raw(v: object) -> object:
    kind, value = _any(v)
    return None if kind < 0 else value


def _links(
    items: object, out: list[tuple[int, int, SpanRefType]], warnings: list[str] | None
) -> list[str] | None:
    for n, link in enumerate(json_array(items, "links")):
        try:
            link = json_object(link, "")
            ltid_h = hex_id(link.get("traceId"), "traceId")
            lsid_h = hex_id(link.get("spanId"), "spanId")
            attrs: list[KeyValue] = []
            _attributes(link.get("attributes"), attrs, "attributes")
        except Invalid as e:
            raise e.under(f"links[{n}]") from None
        if len(ltid_h) != 32 or len(lsid_h) != 16:
            warnings = (warnings or []) + [f"link {n}: invalid traceId/spanId length, link dropped"]
            continue
        ref_type = link_ref_type(
            a.value for a in attrs if a.key == "opentracing.ref_type" and a.v_type == ValueType.STRING
        )
        out.append((int(ltid_h, 16), int(lsid_h, 16), ref_type))
    return warnings


def _events(items: object, logs: list[Log]) -> None:
    for n, ev in enumerate(json_array(items, "events")):
        try:
            ev = json_object(ev, "")
            fields: list[KeyValue] = []
            has_event = _attributes(ev.get("attributes"), fields, "attributes")
            name = json_string(ev.get("name"), "name")
            if name and not has_event:
                fields.insert(0, KeyValue("event", ValueType.STRING, name))
            logs.append(Log(json_int(ev.get("timeUnixNano"), "timeUnixNano", 0, _U64) // 1000, fields))
        except Invalid as e:
            raise e.under(f"events[{n}]") from None
