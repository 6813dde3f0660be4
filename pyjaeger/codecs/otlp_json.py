"""OTLP/JSON → model, and the JSON ExportTraceServiceResponse.

OTLP/JSON is protobuf's JSON mapping with OTLP's exceptions: ids are hex (any case), enums are
integers (names are accepted too), 64-bit integers are decimal strings or numbers, unknown fields
are ignored. The original snake_case field names are accepted as well, as protobuf parsers do.
The translation to the model is the one `otlp` applies to protobuf; both must give equal spans.

Broken structure (not JSON, a list where an object belongs, non-hex ids, a non-numeric time) is a
DecodeError naming the JSON path; a well-formed span whose own id has the wrong length or is zero
is counted as rejected, as in the protobuf codec.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.otlp import (
    NO_SERVICE_NAME,
    SPAN_KINDS,
    STATUS_CODES,
    DecodeResult,
    add_span_fields_as_tags,
    rejection_message,
    render_json_value,
)
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = ["decode_export_json", "encode_export_response_json"]

_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_HEX_DIGITS = "0123456789abcdefABCDEF"
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


class _Invalid(Exception):
    """Broken structure at `path` (relative to the object being decoded when raised)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def under(self, prefix: str) -> _Invalid:
        if not self.path:
            return _Invalid(prefix, self.reason)
        sep = "" if self.path.startswith("[") else "."
        return _Invalid(f"{prefix}{sep}{self.path}", self.reason)


def decode_export_json(data: bytes) -> DecodeResult:
    """Decode an OTLP/JSON ExportTraceServiceRequest body."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise DecodeError(f"invalid JSON: {e}") from None
    try:
        return _convert(doc)
    except _Invalid as e:
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
    kv_ = KeyValue
    string = ValueType.STRING
    child_of = SpanRefType.CHILD_OF
    camel = _camel
    spans: list[Span] = []
    keep = spans.append
    rejected = 0
    first_reason = ""
    i = j = k = -1
    try:
        top = _obj(doc, "")
        for i, rs in enumerate(_list(top.get("resourceSpans"), "resourceSpans")):
            j = k = -1
            rs = _obj(rs, "")
            process = _process(_obj(rs.get("resource"), "resource"))
            for j, ss in enumerate(_list(rs.get("scopeSpans"), "scopeSpans")):
                k = -1
                ss = _obj(ss, "")
                scope = _obj(ss.get("scope"), "scope")
                scope_name = _str(scope.get("name"), "scope.name")
                scope_version = _str(scope.get("version"), "scope.version")
                for k, sp in enumerate(_list(ss.get("spans"), "spans")):
                    if type(sp) is not dict:
                        raise _Invalid("", "expected an object")
                    get = camel(sp).get
                    tid_h = _hex(get("traceId"), "traceId")
                    sid_h = _hex(get("spanId"), "spanId")
                    tid = int(tid_h, 16) if len(tid_h) == 32 else 0
                    sid = int(sid_h, 16) if len(sid_h) == 16 else 0
                    if not tid or not sid:
                        rejected += 1
                        if not first_reason:
                            where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                            first_reason = f"{where}: {_id_problem(tid_h, sid_h)}"
                        continue
                    warnings: list[str] | None = None

                    tags: list[KeyValue] = []
                    add = tags.append
                    if scope_name:
                        add(kv_("otel.scope.name", string, scope_name))
                    if scope_version:
                        add(kv_("otel.scope.version", string, scope_version))
                    _attributes(get("attributes"), tags, "attributes")
                    kind = _enum(get("kind"), "kind", _KIND_NAMES)
                    status = _obj(get("status"), "status")
                    code = _enum(status.get("code"), "status.code", _CODE_NAMES)
                    message = _str(status.get("message"), "status.message")
                    trace_state = _str(get("traceState"), "traceState")
                    add_span_fields_as_tags(tags, kind, code, message, trace_state)

                    refs: list[SpanRef] = []
                    parent_h = _hex(get("parentSpanId"), "parentSpanId")
                    parent = 0
                    if parent_h:
                        if len(parent_h) == 16:
                            parent = int(parent_h, 16)
                            if parent:
                                refs.append(SpanRef(child_of, tid, parent))
                        else:
                            warnings = [f"invalid parentSpanId ({len(parent_h)} hex digits) dropped"]
                    links = get("links")
                    if links is not None:
                        warnings = _links(links, refs, tid, parent, warnings)

                    logs: list[Log] = []
                    events = get("events")
                    if events is not None:
                        _events(events, logs)

                    start = _int(get("startTimeUnixNano"), "startTimeUnixNano", 0, _U64)
                    end = _int(get("endTimeUnixNano"), "endTimeUnixNano", 0, _U64)
                    flags = get("flags")
                    if flags is not None:
                        _int(flags, "flags", 0, _U32)  # validated only: see otlp on why flag 1
                    duration = (end - start) // 1000
                    if duration < 0:
                        duration = 0
                    name = _str(get("name"), "name")
                    keep(
                        Span(tid, sid, name, refs, 1, start // 1000, duration, tags, logs, process, warnings)
                    )
    except _Invalid as e:
        where = ""
        if i >= 0:
            where = f"resourceSpans[{i}]"
            if j >= 0:
                where += f".scopeSpans[{j}]"
                if k >= 0:
                    where += f".spans[{k}]"
        raise e.under(where) if where else e from None
    return DecodeResult(spans, rejected, rejection_message(rejected, first_reason))


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
    first = next(a for a in _list(items, "") if a.get("key") == "service.name")
    kind, value = _any(first.get("value"))
    return Process(value if kind == 0 else "", [kv for kv in tags if kv.key != "service.name"])


def _attributes(items: object, out: list[KeyValue], field: str) -> bool:
    """Append the KeyValue list `items` to `out`; True when one of the keys is `event`."""
    if items is None:
        return False
    if type(items) is not list:
        raise _Invalid(field, f"expected a list, got {_kind(items)}")
    kv_ = KeyValue
    string = ValueType.STRING
    add = out.append
    has_event = False
    for n, a in enumerate(items):
        try:
            if type(a) is not dict:
                raise _Invalid("", "expected an object")
            key = a.get("key")
            if type(key) is not str:
                key = _str(key, "key")
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
            except _Invalid as e:
                raise e.under("value") from None
            if kind < 5:
                add(kv_(key, _SCALAR_TYPES[kind], value))
            else:
                add(kv_(key, string, render_json_value(value)))
        except _Invalid as e:
            raise e.under(f"{field}[{n}]") from None
    return has_event


def _any(v: object) -> tuple[int, Any]:
    """(kind, value) of an AnyValue: kind is its _ANY_FIELDS number and value plain Python
    (list/dict for compounds); (-1, "") when the value is empty."""
    if v is None:
        return -1, ""
    if type(v) is not dict:
        raise _Invalid("", f"expected an AnyValue object, got {_kind(v)}")
    for key, x in v.items():
        kind = _ANY_FIELDS.get(key)
        if kind is None or x is None:
            continue  # unknown fields are ignored; null means unset
        if kind == 0:
            return 0, _str(x, key)
        if kind == 1:
            if type(x) is not bool:
                raise _Invalid(key, f"expected true or false, got {_kind(x)}")
            return 1, x
        if kind == 2:
            return 2, _int(x, key, _I64_MIN, _I64_MAX)
        if kind == 3:
            return 3, _double(x, key)
        if kind == 4:
            return 4, _base64(x, key)
        values = _list(_obj(x, key).get("values"), f"{key}.values")
        out_list: list[object] = []
        out_map: dict[str, object] = {}
        for n, item in enumerate(values):
            try:
                if kind == 5:
                    out_list.append(_raw(item))
                else:
                    kv = _obj(item, "")
                    # A Go map: a repeated key keeps its last value.
                    out_map[_str(kv.get("key"), "key")] = _raw(kv.get("value"))
            except _Invalid as e:
                raise e.under(f"{key}.values[{n}]") from None
        return kind, out_list if kind == 5 else out_map
    return -1, ""


def _raw(v: object) -> object:
    kind, value = _any(v)
    return None if kind < 0 else value


def _links(
    items: object, refs: list[SpanRef], trace_id: int, parent: int, warnings: list[str] | None
) -> list[str] | None:
    for n, link in enumerate(_list(items, "links")):
        try:
            link = _obj(link, "")
            ltid_h = _hex(link.get("traceId"), "traceId")
            lsid_h = _hex(link.get("spanId"), "spanId")
            attrs: list[KeyValue] = []
            _attributes(link.get("attributes"), attrs, "attributes")
        except _Invalid as e:
            raise e.under(f"links[{n}]") from None
        if len(ltid_h) != 32 or len(lsid_h) != 16:
            warnings = (warnings or []) + [f"link {n}: invalid traceId/spanId length, link dropped"]
            continue
        ref_type = SpanRefType.FOLLOWS_FROM
        for a in attrs:
            if a.key == "opentracing.ref_type" and a.value == "child_of" and a.v_type == ValueType.STRING:
                ref_type = SpanRefType.CHILD_OF
                break
        ltid = int(ltid_h, 16)
        lsid = int(lsid_h, 16)
        if parent and ltid == trace_id and lsid == parent:
            # The parent reference is already first; the link only says which kind it is.
            refs[0].ref_type = ref_type
            continue
        refs.append(SpanRef(ref_type, ltid, lsid))
    return warnings


def _events(items: object, logs: list[Log]) -> None:
    for n, ev in enumerate(_list(items, "events")):
        try:
            ev = _obj(ev, "")
            fields: list[KeyValue] = []
            has_event = _attributes(ev.get("attributes"), fields, "attributes")
            name = _str(ev.get("name"), "name")
            if name and not has_event:
                fields.insert(0, KeyValue("event", ValueType.STRING, name))
            logs.append(Log(_int(ev.get("timeUnixNano"), "timeUnixNano", 0, _U64) // 1000, fields))
        except _Invalid as e:
            raise e.under(f"events[{n}]") from None


def _camel(d: dict[str, Any]) -> dict[str, Any]:
    """`d` with snake_case field names rewritten to lowerCamelCase (usually `d` itself)."""
    for key in d:
        if "_" in key:
            return {_to_camel(k): v for k, v in d.items()}
    return d


def _to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _obj(x: object, path: str) -> dict[str, Any]:
    if type(x) is dict:
        return _camel(x)
    if x is None:
        return {}
    raise _Invalid(path, f"expected an object, got {_kind(x)}")


def _list(x: object, path: str) -> list[Any]:
    if type(x) is list:
        return x
    if x is None:
        return []
    raise _Invalid(path, f"expected a list, got {_kind(x)}")


def _str(x: object, path: str) -> str:
    if type(x) is str:
        return x
    if x is None:
        return ""
    raise _Invalid(path, f"expected a string, got {_kind(x)}")


def _hex(x: object, path: str) -> str:
    """A hex id string ("" when absent); its length is the caller's business."""
    if type(x) is str:
        if x.strip(_HEX_DIGITS):
            raise _Invalid(path, f"not a hex string: {x[:40]!r}")
        return x
    if x is None:
        return ""
    raise _Invalid(path, f"expected a hex string, got {_kind(x)}")


def _int(x: object, path: str, lo: int, hi: int) -> int:
    if type(x) is int:
        v = x
    elif type(x) is str and x.isascii() and (x.isdigit() or (x[:1] == "-" and x[1:].isdigit())):
        v = int(x)
    elif type(x) is float and x.is_integer():
        v = int(x)
    elif x is None:
        return 0
    else:
        raise _Invalid(path, f"expected an integer, got {_kind(x)}")
    if not lo <= v <= hi:
        raise _Invalid(path, f"integer {v} out of range")
    return v


def _enum(x: object, path: str, names: dict[str, int]) -> int:
    if type(x) is int:
        return x
    if type(x) is str and x in names:
        return names[x]
    if x is None:
        return 0
    raise _Invalid(path, f"expected an enum number, got {_kind(x)}")


def _double(x: object, path: str) -> float:
    if type(x) is float or type(x) is int:
        return float(x)
    if type(x) is str:
        special = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
        if x in special:
            return special[x]
        # float() also takes "inf", "nan", "1_0" and padding, which JSON numbers do not allow.
        if x and x.isascii() and "_" not in x and x.strip() == x and "n" not in x.lower():
            try:
                return float(x)
            except ValueError:
                pass
    raise _Invalid(path, f"expected a number, got {_kind(x)}")


def _base64(x: object, path: str) -> bytes:
    s = _str(x, path)
    # Protobuf's JSON mapping accepts standard and URL-safe alphabets, padded or not.
    s = s.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(path, "not valid base64") from None


def _kind(x: object) -> str:
    if isinstance(x, str):
        return f"string {x[:40]!r}"
    return {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}.get(
        type(x), type(x).__name__
    )
