"""Spans ⇄ Jaeger's Elasticsearch span documents, and the service/operation documents.

The document is Jaeger's v1 `dbmodel.Span` (`internal/storage/elasticsearch/dbmodel/model.go`,
written by `spanstore/from_domain.go` + `writer.go`, read by `to_domain.go` + `reader.go`, all
v1.76.0), field for field and in Go's field order, so that a real Jaeger and pyjaeger read each
other's indices:

- ids are lower-case hex: `traceID` as Jaeger v1's `TraceID.String()` (16 digits when the high
  64 bits are zero, else 32) unless `pad_trace_ids` asks for Jaeger v2's always-32 form;
  `spanID` always 16 digits. `parentSpanID` is never written (deprecated) but is read.
- tag values are typed JSON (Jaeger ≥ 1.69); binary is a hex string. Documents of older Jaeger
  versions hold every value as a string; both are read.
- with tags-as-fields, selected non-binary span and process tags move from the nested `tags`
  arrays into the `tag` / `process.tag` objects, `.` in keys replaced (default `@`).
- `flags` is left out when 0 and `tag` when empty (Go `omitempty`); a log without fields has
  `"fields": null`, as Go writes a nil slice. Span warnings are not stored (nor by Jaeger).

Reading raises `DecodeError` only for a document that is not a span (bad ids, bad reference
type, wrong JSON shapes). A tag whose value does not fit its type becomes a string tag carrying
the reason, as Jaeger v2's reader does (v1's reader fails the whole trace instead).

Where Jaeger's writer would lose the span, this one writes something Jaeger still reads: NaN and
±Inf float tags as the strings "NaN"/"+Inf"/"-Inf" (Go's json.Marshal refuses them), and tags
with an empty key stay nested even with tags-as-fields (Elasticsearch refuses a field named "").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.gotext import strconv
from pyjaeger.model import (
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
    add_parent_ref,
)
from pyjaeger.storage.elasticsearch.config import NO_TAGS_AS_FIELDS, TagsAsFields

__all__ = [
    "span_to_doc",
    "process_to_doc",
    "doc_to_span",
    "service_doc",
    "service_doc_id",
    "trace_id_text",
]


# Indexed by ValueType: the lower-cased api_v2 enum names Jaeger writes in `type`.
_TYPE_NAMES = ("string", "bool", "int64", "float64", "binary")
_REF_TYPE_NAMES = ("CHILD_OF", "FOLLOWS_FROM")
_BINARY = ValueType.BINARY
_FLOAT64 = ValueType.FLOAT64


# ------------------------------------------------------------------------------------- writing


def trace_id_text(trace_id: int, pad: bool = False) -> str:
    """Jaeger v1's `TraceID.String()`; with `pad`, Jaeger v2's (OTel) always-32-digit form."""
    if pad or trace_id >> 64:
        return f"{trace_id:032x}"
    return f"{trace_id:016x}"


def _value(kv: KeyValue) -> Any:
    t = kv.v_type
    v = kv.value
    if t == _BINARY:
        return bytes(v).hex()  # type: ignore[arg-type]
    if t == _FLOAT64 and not math.isfinite(v):  # type: ignore[arg-type]
        # JSON has no NaN/Inf: Go's json.Marshal fails and Jaeger drops the span. Strings are
        # what pre-1.69 Jaeger wrote for every value and its readers parse them back.
        return "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")  # type: ignore[operator]
    return v


def _kvs(kvs: Iterable[KeyValue]) -> list[dict[str, Any]]:
    return [{"key": kv.key, "type": _TYPE_NAMES[kv.v_type], "value": _value(kv)} for kv in kvs]


def _split(kvs: Iterable[KeyValue], taf: TagsAsFields) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(nested tags, object fields or None), Jaeger's `splitElevatedTags`."""
    nested: list[dict[str, Any]] = []
    fields: dict[str, Any] | None = None
    everything, include, rep = taf.all, taf.include, taf.dot_replacement
    for kv in kvs:
        t = kv.v_type
        v = kv.value
        # NaN/Inf stay nested, where `_value` can write them as strings; so does an empty key,
        # since Elasticsearch rejects a whole document with an empty field name (Jaeger's
        # writer loses such spans).
        finite = t != _FLOAT64 or math.isfinite(v)  # type: ignore[arg-type]
        if t != _BINARY and (everything or kv.key in include) and finite and kv.key:
            if fields is None:
                fields = {}
            # Duplicate keys (and keys equal after replacement) collapse: the last one wins,
            # as in Jaeger's Go map.
            fields[kv.key.replace(".", rep)] = v
        else:
            nested.append({"key": kv.key, "type": _TYPE_NAMES[t], "value": _value(kv)})
    return nested, fields


def process_to_doc(process: Process, tags_as_fields: TagsAsFields = NO_TAGS_AS_FIELDS) -> dict[str, Any]:
    """The `process` object. Spans of one batch share a Process, so a writer may convert it once
    per batch and reuse the dict for each of their documents."""
    if not tags_as_fields.enabled:
        return {"serviceName": process.service_name, "tags": _kvs(process.tags)}
    nested, fields = _split(process.tags, tags_as_fields)
    doc: dict[str, Any] = {"serviceName": process.service_name, "tags": nested}
    if fields:
        doc["tag"] = fields
    return doc


def span_to_doc(
    span: Span,
    tags_as_fields: TagsAsFields = NO_TAGS_AS_FIELDS,
    *,
    pad_trace_ids: bool = False,
    process_doc: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document Jaeger writes for `span`, keys in Go's field order.

    `pad_trace_ids`: write 32 hex digits for every trace id (Jaeger v2's native writer) instead
    of v1's 16 for 64-bit ids. `process_doc`: a `process_to_doc` result to reuse.
    """
    pad = pad_trace_ids
    tid = trace_id_text(span.trace_id, pad)
    doc: dict[str, Any] = {"traceID": tid, "spanID": f"{span.span_id:016x}"}
    if span.flags:
        doc["flags"] = span.flags
    doc["operationName"] = span.operation_name
    doc["references"] = [
        {
            "refType": _REF_TYPE_NAMES[r.ref_type],
            "traceID": tid if r.trace_id == span.trace_id else trace_id_text(r.trace_id, pad),
            "spanID": f"{r.span_id:016x}",
        }
        for r in span.references
    ]
    start = span.start_time
    doc["startTime"] = start
    doc["startTimeMillis"] = start // 1000
    doc["duration"] = span.duration
    if tags_as_fields.enabled:
        nested, fields = _split(span.tags, tags_as_fields)
        doc["tags"] = nested
        if fields:
            doc["tag"] = fields
    else:
        doc["tags"] = _kvs(span.tags)
    doc["logs"] = [{"timestamp": log.timestamp, "fields": _kvs(log.fields) or None} for log in span.logs]
    doc["process"] = process_doc if process_doc is not None else process_to_doc(span.process, tags_as_fields)
    return doc


def service_doc_id(service: str, operation: str) -> str:
    """Jaeger's `_id` of a service document: FNV-1a 64 of service then operation (UTF-8 bytes,
    no separator), lower-case hex without padding (`strconv.FormatUint(h, 16)`)."""
    h = 0xCBF29CE484222325
    for b in (service + operation).encode("utf-8", "surrogatepass"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")


def service_doc(span: Span) -> tuple[str, dict[str, str]]:
    """(`_id`, body) of the service/operation document Jaeger writes next to every span.

    The fixed id makes rewrites idempotent; Jaeger still skips pairs it wrote in the last 12h
    (`--es.service-cache-ttl`) to save the requests.
    """
    service = span.process.service_name
    operation = span.operation_name
    return service_doc_id(service, operation), {"serviceName": service, "operationName": operation}


# ------------------------------------------------------------------------------------- reading


def doc_to_span(doc: Mapping[str, Any], *, dot_replacement: str = "@") -> Span:
    """A span from a document written by any Jaeger version or by `span_to_doc`.

    Tags stored as fields are appended after the nested ones, with `dot_replacement` turned
    back into `.` (every occurrence, so a key that really contained it comes back with a dot:
    Jaeger does the same). Their type is inferred from the JSON value.
    """
    if not isinstance(doc, Mapping):
        raise DecodeError(f"span document: expected an object, got {type(doc).__name__}")
    trace_id = _trace_id(doc.get("traceID"), "traceID")
    span_id = _span_id(doc.get("spanID"), "spanID")
    refs = [_ref(r, i) for i, r in enumerate(_list(doc.get("references"), "references"))]
    parent = doc.get("parentSpanID")
    if parent:
        # Early Jaeger 1.x (whose model still had ParentSpanID) wrote the parent here.
        parent_id = _span_id(parent, "parentSpanID")
        if parent_id:
            add_parent_ref(refs, trace_id, parent_id)
    process = doc.get("process")
    if process is None:
        process = {}
    elif not isinstance(process, Mapping):
        raise DecodeError("process: expected an object")
    service = process.get("serviceName", "")
    if not isinstance(service, str):
        raise DecodeError("process.serviceName: expected a string")
    operation = doc.get("operationName", "")
    if not isinstance(operation, str):
        raise DecodeError("operationName: expected a string")
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        operation_name=operation,
        references=refs,
        flags=_uint(doc.get("flags"), "flags", 32),
        start_time=_uint(doc.get("startTime"), "startTime"),
        duration=_uint(doc.get("duration"), "duration"),
        tags=_tags(doc, "", dot_replacement),
        logs=[_log(entry, i) for i, entry in enumerate(_list(doc.get("logs"), "logs"))],
        process=Process(service, _tags(process, "process.", dot_replacement)),
    )


# Go's TraceIDFromString / SpanIDFromString: 1..32 (1..16) hex digits, no sign, no "0x".
# Checked with a regex rather than the model's helpers: a trace read parses thousands of ids.
_TRACE_ID_RE = re.compile(r"[0-9a-fA-F]{1,32}")
_SPAN_ID_RE = re.compile(r"[0-9a-fA-F]{1,16}")


def _trace_id(value: Any, where: str) -> int:
    if isinstance(value, str) and _TRACE_ID_RE.fullmatch(value):
        return int(value, 16)
    raise DecodeError(f"{where}: malformed trace id {value!r}: expected 1 to 32 hex characters")


def _span_id(value: Any, where: str) -> int:
    if isinstance(value, str) and _SPAN_ID_RE.fullmatch(value):
        return int(value, 16)
    raise DecodeError(f"{where}: malformed span id {value!r}: expected 1 to 16 hex characters")


def _uint(value: Any, where: str, bits: int = 64) -> int:
    """Go's uint64 (uint32 for flags) fields: missing is 0, negative or larger is an error."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < (1 << bits):
        return value
    raise DecodeError(f"{where}: expected an unsigned {bits}-bit integer, got {value!r}")


def _list(value: Any, where: str) -> list[Any]:
    """Go writes empty slices as [] or null (and older writers may leave the key out)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodeError(f"{where}: expected an array, got {type(value).__name__}")
    return value


def _ref(value: Any, i: int) -> SpanRef:
    if not isinstance(value, Mapping):
        raise DecodeError(f"references[{i}]: expected an object")
    name = value.get("refType")
    if name == "CHILD_OF":
        ref_type = SpanRefType.CHILD_OF
    elif name == "FOLLOWS_FROM":
        ref_type = SpanRefType.FOLLOWS_FROM
    else:
        raise DecodeError(f"references[{i}].refType: not a valid SpanRefType string {name!r}")
    return SpanRef(
        ref_type,
        _trace_id(value.get("traceID"), f"references[{i}].traceID"),
        _span_id(value.get("spanID"), f"references[{i}].spanID"),
    )


def _log(value: Any, i: int) -> Log:
    if not isinstance(value, Mapping):
        raise DecodeError(f"logs[{i}]: expected an object")
    where = f"logs[{i}].fields"
    fields = [_kv(f, where, j) for j, f in enumerate(_list(value.get("fields"), where))]
    return Log(_uint(value.get("timestamp"), f"logs[{i}].timestamp"), fields)


def _tags(obj: Mapping[str, Any], path: str, dot_replacement: str) -> list[KeyValue]:
    """Nested `tags` followed by the `tag` object's fields (Jaeger's mergeNestedAndElevatedTags)."""
    where = f"{path}tags"
    tags = [_kv(t, where, i) for i, t in enumerate(_list(obj.get("tags"), where))]
    fields = obj.get("tag")
    if fields is not None:
        if not isinstance(fields, Mapping):
            raise DecodeError(f"{path}tag: expected an object")
        for key, value in fields.items():
            tags.append(_field_tag(key.replace(dot_replacement, "."), value))
    return tags


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _field_tag(key: str, v: Any) -> KeyValue:
    """A tag from an object field; the type is whatever the JSON value is (`convertTagField`)."""
    if isinstance(v, bool):
        return KeyValue(key, ValueType.BOOL, v)
    if isinstance(v, int):
        # Go reads numbers as json.Number: Int64() first, Float64() when it does not fit. A float
        # with no fraction was written by Go as an integer, so it comes back as int64 (in Jaeger
        # too).
        if _INT64_MIN <= v <= _INT64_MAX:
            return KeyValue(key, ValueType.INT64, v)
        return KeyValue(key, ValueType.FLOAT64, float(v))
    if isinstance(v, float):
        return KeyValue(key, ValueType.FLOAT64, v)
    if isinstance(v, str):
        return KeyValue(key, ValueType.STRING, v)
    return KeyValue(key, ValueType.STRING, f"invalid tag type in {strconv.format_value(v)}")


def _kv(value: Any, where: str, i: int) -> KeyValue:
    """The i-th nested `{key, type, value}` of `where`; typed (Jaeger ≥ 1.69) or string-valued
    (older)."""
    if not isinstance(value, Mapping):
        raise DecodeError(f"{where}[{i}]: expected an object")
    key = value.get("key", "")
    t = value.get("type", "")
    if not isinstance(key, str) or not isinstance(t, str):
        raise DecodeError(f"{where}[{i}]: key and type must be strings")
    v = value.get("value")
    if isinstance(v, str):
        if t == "string":
            return KeyValue(key, ValueType.STRING, v)
        parse = _PARSERS.get(t)
        if parse is None:
            return KeyValue(key, ValueType.STRING, f'<Unknown Jaeger TagType "{t}">')
        v_type, fn = parse
        try:
            return KeyValue(key, v_type, fn(v))
        except ValueError as e:
            return KeyValue(key, ValueType.STRING, f"Can't convert the type {t} for the key {key}: {e}")
    if not isinstance(v, bool):
        if t == "int64":
            if isinstance(v, int) and _INT64_MIN <= v <= _INT64_MAX:
                return KeyValue(key, ValueType.INT64, v)
            if isinstance(v, float) and v.is_integer() and _INT64_MIN <= v <= _INT64_MAX:
                return KeyValue(key, ValueType.INT64, int(v))
        elif t == "float64" and isinstance(v, (int, float)):
            # Go writes 2.0 as 2: an integer here is still a float64 tag.
            return KeyValue(key, ValueType.FLOAT64, float(v))
    elif t == "bool":
        return KeyValue(key, ValueType.BOOL, v)
    return KeyValue(key, ValueType.STRING, f"invalid {t} type in {strconv.format_value(v)}")


_PARSERS: dict[str, tuple[ValueType, Any]] = {
    "bool": (ValueType.BOOL, strconv.parse_bool),
    "int64": (ValueType.INT64, strconv.parse_int),
    "float64": (ValueType.FLOAT64, strconv.parse_float),
    "binary": (ValueType.BINARY, strconv.decode_hex),
}
