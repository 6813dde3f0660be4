"""OTLP protobuf message (`TracesData` or `ExportTraceServiceRequest`) → OTLP/JSON bytes.

Written as the OpenTelemetry Collector's pdata JSON marshaller writes it (the one Jaeger's api_v3
answers with), which follows the OTLP/JSON rules:

- keys are the lowerCamelCase field names, in the proto's field order;
- trace and span ids are lower-case hex; enums (`kind`, `status.code`) are integers; 64-bit
  integers (times, `intValue`) are decimal strings, 32-bit ones (`flags`, dropped counts)
  numbers; bytes are standard base64; a double is written as Go writes it (shortest digits,
  `"NaN"`, `"Infinity"`, `"-Infinity"` as strings);
- a field at its default (zero, "", an all-zero id, an empty list) is left out, except the
  messages pdata holds by value, which are always written even when empty: a ResourceSpans'
  `resource`, a ScopeSpans' `scope`, a span's `status` and an attribute's `value`.

Strings are written as they are (no HTML escaping, as pdata's writer). Pure: message in, bytes out.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from pyjaeger.gotext.json import marshal_float

__all__ = ["encode_traces_json", "traces_json"]

Obj = dict[str, Any]


def encode_traces_json(message: Any) -> bytes:
    """`{"resourceSpans":[...]}` of a TracesData or ExportTraceServiceRequest message."""
    return orjson.dumps(traces_json(message))


def traces_json(message: Any) -> Obj:
    """The JSON object (dicts, lists, scalars and orjson fragments for doubles) that
    `encode_traces_json` writes, to embed in a larger document (api_v3's `{"result": ...}`)."""
    resource_spans = message.resource_spans
    if not resource_spans:
        return {}
    return {"resourceSpans": [_resource_spans(rs) for rs in resource_spans]}


def _resource_spans(rs: Any) -> Obj:
    out: Obj = {"resource": _resource(rs.resource)}
    scope_spans = rs.scope_spans
    if scope_spans:
        out["scopeSpans"] = [_scope_spans(ss) for ss in scope_spans]
    if rs.schema_url:
        out["schemaUrl"] = rs.schema_url
    return out


def _resource(resource: Any) -> Obj:
    out: Obj = {}
    if resource.attributes:
        out["attributes"] = _attributes(resource.attributes)
    if resource.dropped_attributes_count:
        out["droppedAttributesCount"] = resource.dropped_attributes_count
    if resource.entity_refs:
        out["entityRefs"] = [_entity_ref(e) for e in resource.entity_refs]
    return out


def _entity_ref(ref: Any) -> Obj:
    out: Obj = {}
    if ref.schema_url:
        out["schemaUrl"] = ref.schema_url
    if ref.type:
        out["type"] = ref.type
    if ref.id_keys:
        out["idKeys"] = list(ref.id_keys)
    if ref.description_keys:
        out["descriptionKeys"] = list(ref.description_keys)
    return out


def _scope_spans(ss: Any) -> Obj:
    scope = ss.scope
    scope_out: Obj = {}
    if scope.name:
        scope_out["name"] = scope.name
    if scope.version:
        scope_out["version"] = scope.version
    if scope.attributes:
        scope_out["attributes"] = _attributes(scope.attributes)
    if scope.dropped_attributes_count:
        scope_out["droppedAttributesCount"] = scope.dropped_attributes_count
    out: Obj = {"scope": scope_out}
    spans = ss.spans
    if spans:
        out["spans"] = [_span(sp) for sp in spans]
    if ss.schema_url:
        out["schemaUrl"] = ss.schema_url
    return out


def _span(sp: Any) -> Obj:
    # One function with the checks inline: this runs once per span of every trace read.
    out: Obj = {}
    b = sp.trace_id
    if b.strip(b"\0"):
        out["traceId"] = b.hex()
    b = sp.span_id
    if b.strip(b"\0"):
        out["spanId"] = b.hex()
    s = sp.trace_state
    if s:
        out["traceState"] = s
    b = sp.parent_span_id
    if b.strip(b"\0"):
        out["parentSpanId"] = b.hex()
    n = sp.flags
    if n:
        out["flags"] = n
    s = sp.name
    if s:
        out["name"] = s
    n = sp.kind
    if n:
        out["kind"] = n
    n = sp.start_time_unix_nano
    if n:
        out["startTimeUnixNano"] = str(n)
    n = sp.end_time_unix_nano
    if n:
        out["endTimeUnixNano"] = str(n)
    attributes = sp.attributes
    if attributes:
        out["attributes"] = _attributes(attributes)
    n = sp.dropped_attributes_count
    if n:
        out["droppedAttributesCount"] = n
    events = sp.events
    if events:
        out["events"] = [_event(ev) for ev in events]
    n = sp.dropped_events_count
    if n:
        out["droppedEventsCount"] = n
    links = sp.links
    if links:
        out["links"] = [_link(link) for link in links]
    n = sp.dropped_links_count
    if n:
        out["droppedLinksCount"] = n
    status = sp.status
    status_out: Obj = {}
    s = status.message
    if s:
        status_out["message"] = s
    n = status.code
    if n:
        status_out["code"] = n
    out["status"] = status_out
    return out


def _event(ev: Any) -> Obj:
    out: Obj = {}
    if ev.time_unix_nano:
        out["timeUnixNano"] = str(ev.time_unix_nano)
    if ev.name:
        out["name"] = ev.name
    if ev.attributes:
        out["attributes"] = _attributes(ev.attributes)
    if ev.dropped_attributes_count:
        out["droppedAttributesCount"] = ev.dropped_attributes_count
    return out


def _link(link: Any) -> Obj:
    out: Obj = {}
    b = link.trace_id
    if b.strip(b"\0"):
        out["traceId"] = b.hex()
    b = link.span_id
    if b.strip(b"\0"):
        out["spanId"] = b.hex()
    if link.trace_state:
        out["traceState"] = link.trace_state
    if link.attributes:
        out["attributes"] = _attributes(link.attributes)
    if link.dropped_attributes_count:
        out["droppedAttributesCount"] = link.dropped_attributes_count
    if link.flags:
        out["flags"] = link.flags
    return out


def _attributes(kvs: Any) -> list[Obj]:
    out: list[Obj] = []
    add = out.append
    for kv in kvs:
        key = kv.key
        v = kv.value
        # A non-empty string settles the value's kind without asking which is set.
        s = v.string_value
        value: Obj = {"stringValue": s} if s else _any_value(v)
        item: Obj = {"key": key, "value": value} if key else {"value": value}
        if kv.key_strindex:
            item["keyStrindex"] = kv.key_strindex
        add(item)
    return out


def _any_value(v: Any) -> Obj:
    which = v.WhichOneof("value")
    if which is None:
        return {}
    if which == "string_value":
        return {"stringValue": v.string_value}
    if which == "bool_value":
        return {"boolValue": v.bool_value}
    if which == "int_value":
        return {"intValue": str(v.int_value)}
    if which == "double_value":
        return {"doubleValue": orjson.Fragment(marshal_float(v.double_value, "proto"))}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")}
    if which == "array_value":
        values = v.array_value.values
        return {"arrayValue": {"values": [_any_value(x) for x in values]} if values else {}}
    if which == "kvlist_value":
        values = v.kvlist_value.values
        return {"kvlistValue": {"values": _attributes(values)} if values else {}}
    return {"stringValueStrindex": v.string_value_strindex}
