"""The model rendered as the query API's JSON (Jaeger's UI model), and the response envelope.

Shapes follow Jaeger's `uimodel` and `converter/v1/json/from_domain.go`: spans carry a
`processID` into a per-trace `processes` map, ids are hex, times are integer µs, `flags` is left
out when 0 and int64 values beyond JavaScript's safe range become decimal strings (the UI would
otherwise round them). Bytes match what Go's `encoding/json` writes for the same data, with two
deliberate exceptions:

- floats use orjson's shortest form (`1.0`, `1e+20`) where Go writes `1`, `100000000000000000000`:
  the same number for any JSON reader;
- NaN and ±Inf tag values render as the strings "NaN", "+Inf", "-Inf" (Go's text for them);
  Jaeger fails the whole response with a 500 there.

Rendering is on the hot path of every trace view, so `trace_to_dict` builds plain dict literals
in tight loops and caches what repeats inside a trace (process ids, trace id text).
"""

from __future__ import annotations

import math
from base64 import b64encode
from collections.abc import Sequence
from typing import Any

import orjson

from pyjaeger.gotext.json import escape_html
from pyjaeger.model import KeyValue, Log, Process, Trace, ValueType

__all__ = ["trace_to_dict", "envelope", "dumps", "error_body"]

_JS_MAX_SAFE = (1 << 53) - 1

# Plain ints rather than enum members: comparing against them skips enum machinery.
_STRING = int(ValueType.STRING)
_BOOL = int(ValueType.BOOL)
_INT64 = int(ValueType.INT64)
_FLOAT64 = int(ValueType.FLOAT64)

_FOLLOWS_FROM = 1


def _float_value(v: float) -> float | str:
    if math.isfinite(v):
        return v
    if v != v:
        return "NaN"
    return "+Inf" if v > 0 else "-Inf"


def _kvs(kvs: Sequence[KeyValue]) -> list[dict[str, Any]]:
    """Typed key-values as `{"key","type","value"}`, in their stored order."""
    out: list[dict[str, Any]] = []
    append = out.append
    for kv in kvs:
        t = kv.v_type
        v = kv.value
        if t == _STRING:
            append({"key": kv.key, "type": "string", "value": v})
        elif t == _INT64:
            if -_JS_MAX_SAFE <= v <= _JS_MAX_SAFE:  # type: ignore[operator]
                append({"key": kv.key, "type": "int64", "value": v})
            else:
                append({"key": kv.key, "type": "int64", "value": str(v)})
        elif t == _BOOL:
            append({"key": kv.key, "type": "bool", "value": bool(v)})
        elif t == _FLOAT64:
            append({"key": kv.key, "type": "float64", "value": _float_value(v)})  # type: ignore[arg-type]
        else:
            # Go marshals []byte as standard base64 with padding.
            append({"key": kv.key, "type": "binary", "value": b64encode(v).decode("ascii")})  # type: ignore[arg-type]
    return out


def _logs(logs: Sequence[Log]) -> list[dict[str, Any]]:
    return [{"timestamp": log.timestamp, "fields": _kvs(log.fields)} for log in logs]


def _trace_id_hex(trace_id: int) -> str:
    if trace_id >> 64:
        return f"{trace_id:032x}"
    return f"{trace_id:016x}"


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """One trace as the UI JSON object: `{"traceID", "spans", "processes", "warnings"}`.

    The trace id is the first span's. Processes get keys `p1`, `p2`, ... in order of first
    appearance; fully equal processes (`Process.key()`) share a key. The returned dict may share
    warning lists with the model; serialise it, don't mutate it.
    """
    spans_out: list[dict[str, Any]] = []
    append = spans_out.append
    processes: dict[str, dict[str, Any]] = {}
    pid_by_obj: dict[int, str] = {}  # id(process): codecs share one Process per batch
    pid_by_key: dict[tuple[object, ...], str] = {}
    kvs = _kvs
    logs_of = _logs
    tid_hex = _trace_id_hex
    last_tid = -1
    last_tid_text = ""

    for span in trace.spans:
        tid = span.trace_id
        if tid != last_tid:
            last_tid = tid
            last_tid_text = tid_hex(tid)

        proc: Process = span.process
        pid = pid_by_obj.get(id(proc))
        if pid is None:
            key = proc.key()
            pid = pid_by_key.get(key)
            if pid is None:
                pid = f"p{len(pid_by_key) + 1}"
                pid_by_key[key] = pid
                processes[pid] = {"serviceName": proc.service_name, "tags": kvs(proc.tags)}
            # The spans keep their processes alive for this call, so ids cannot be reused.
            pid_by_obj[id(proc)] = pid

        refs = [
            {
                "refType": "FOLLOWS_FROM" if r.ref_type == _FOLLOWS_FROM else "CHILD_OF",
                "traceID": last_tid_text if r.trace_id == tid else tid_hex(r.trace_id),
                "spanID": f"{r.span_id:016x}",
            }
            for r in span.references
        ]
        logs = logs_of(span.logs) if span.logs else []
        flags = span.flags
        out: dict[str, Any] = {"traceID": last_tid_text, "spanID": f"{span.span_id:016x}"}
        if flags:  # Go's omitempty: left out when 0, third in order otherwise
            out["flags"] = flags
        out["operationName"] = span.operation_name
        out["references"] = refs
        out["startTime"] = span.start_time
        out["duration"] = span.duration
        out["tags"] = kvs(span.tags)
        out["logs"] = logs
        out["processID"] = pid
        out["warnings"] = span.warnings
        append(out)

    if len(processes) > 9:
        # Go writes map keys sorted as strings: p1, p10, p11, ..., p2.
        processes = {k: processes[k] for k in sorted(processes)}
    return {
        "traceID": tid_hex(trace.spans[0].trace_id) if trace.spans else "",
        "spans": spans_out,
        "processes": processes,
        "warnings": trace.warnings,
    }


def envelope(
    data: Any,
    *,
    total: int = 0,
    limit: int = 0,
    offset: int = 0,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Jaeger's `structuredResponse`. `errors` None renders as null (Jaeger's nil slice); an
    error dict is `{"code"?, "msg", "traceID"?}` with code and traceID left out when empty."""
    return {"data": data, "total": total, "limit": limit, "offset": offset, "errors": errors}


def _double_indent(out: bytes) -> bytes:
    """orjson's 2-space indentation made 4. Every line of its output starts with indentation
    and strings never hold a raw newline or control byte, so whole-buffer replaces are exact:
    deepest level first, each level's run of spaces turned into 0x01 marker bytes (so a shallower
    pattern cannot match it again), the markers expanded at the end. Several times faster than
    a per-line regex on megabyte traces."""
    depth = 0
    while b"\n" + b"  " * (depth + 1) in out:
        depth += 1
    for level in range(depth, 0, -1):
        out = out.replace(b"\n" + b"  " * level, b"\n" + b"\x01" * level)
    return out.replace(b"\x01", b"    ")


def dumps(obj: Any, pretty: bool = False) -> bytes:
    """JSON bytes as Jaeger writes them: compact, or `pretty` with Go's 4-space indent
    (`json.MarshalIndent`), where orjson only offers 2."""
    if pretty:
        out = _double_indent(orjson.dumps(obj, option=orjson.OPT_INDENT_2))
    else:
        out = orjson.dumps(obj)
    return escape_html(out)


def error_body(status: int, msg: str) -> bytes:
    """An error answer's body as Jaeger's `handleError` writes it through Go's `http.Error`:
    the envelope with one `{"code","msg"}` error, compact, plus a newline."""
    return dumps(envelope(None, errors=[{"code": status, "msg": msg}])) + b"\n"
