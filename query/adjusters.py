"""Query-time adjusters: the clean-ups Jaeger applies to a trace before the UI sees it.

Jaeger v1.76 (`cmd/query/app/querysvc/adjusters.go`) runs, in this order:

1. ZipkinSpanIDUniquifier - a server span sharing its span id with a client span (a Zipkin
   shared span, split from one v1 span or sent with `shared`) gets a new id (the lowest unused
   one above those given so far) and the shared id as its parent; spans whose parent was the
   shared id become the server span's children, since the server side made those calls.
2. SortTagsAndLogFields - span and process tags sorted (by key, then type, then value); in each
   log a string `event` field is swapped to the front and the rest sorted.
3. DedupeBySpanHash - spans equal in every field collapse to one. Jaeger rebuilds the list
   from a hash map (random order); we keep first occurrences in stored order.
4. ClockSkew - **not here**: with the default `--query.max-clock-skew-adjustment=0s` Jaeger
   moves nothing. It still attaches warnings (duplicate span ids, parent ids not in the trace,
   "clock skew adjustment disabled; not applying calculated delta of ..."); we don't.
5. IPTagAdjuster - int64/float64 `ip` and `peer.ipv4` tags (span and process) become dotted
   quads.
6. OTelTagAdjuster - `telemetry.sdk.*`/`telemetry.distro.*` span tags move to the process.
7. SpanReferences - references with trace id 0 are dropped, each with a span warning.
8. ParentReference - the parent reference (first same-trace CHILD_OF, else first same-trace
   reference) is swapped to index 0, where the UI looks for it.

Storage hands out its own objects (the memory store especially) and processes are shared by
every span of a batch, so nothing is changed in place: a changed span, process or list is a
copy, and unchanged spans are passed through as they are.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

from pyjaeger.model import (
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    Trace,
    ValueType,
    parent_position,
)

__all__ = ["adjust_trace"]

_STRING = int(ValueType.STRING)
_INT64 = int(ValueType.INT64)
_FLOAT64 = int(ValueType.FLOAT64)

_IP_TAGS = frozenset({"ip", "peer.ipv4"})
_OTEL_LIBRARY_TAGS = frozenset(
    {
        "telemetry.sdk.language",
        "telemetry.sdk.name",
        "telemetry.sdk.version",
        "telemetry.distro.name",
        "telemetry.distro.version",
    }
)


def _kv_order(kv: KeyValue) -> tuple[str, int, object]:
    # gogo's KeyValue.Compare: key, then type, then the value (one value field per type).
    return kv.key, int(kv.v_type), kv.value


def _sorted_kvs(kvs: list[KeyValue]) -> list[KeyValue] | None:
    """A sorted copy, or None when `kvs` is already in order (the common case for stored
    process tags and for traces adjusted before)."""
    prev = None
    for kv in kvs:
        if prev is not None and kv.key <= prev:
            break
        prev = kv.key
    else:
        return None
    # Keys alone decide unless some repeat; only then is the full comparison needed.
    out = sorted(kvs, key=_kv_key)
    for a, b in itertools.pairwise(out):
        if a.key == b.key:
            out.sort(key=_kv_order)
            break
    return out


def _kv_key(kv: KeyValue) -> str:
    return kv.key


def _sorted_log_fields(fields: list[KeyValue]) -> list[KeyValue] | None:
    """Jaeger's log order: the first string `event` field swapped into position 0, the rest
    sorted. None when already so."""
    for i, kv in enumerate(fields):
        if kv.key == "event" and kv.v_type == _STRING:
            if i == 0:
                rest = _sorted_kvs(fields[1:])
                return None if rest is None else [fields[0], *rest]
            swapped = list(fields)
            swapped[0], swapped[i] = swapped[i], swapped[0]
            rest = _sorted_kvs(swapped[1:])
            return [swapped[0], *(swapped[1:] if rest is None else rest)]
    return _sorted_kvs(fields)


_CHANGEABLE = frozenset({"references", "duration", "tags", "logs", "process", "warnings"})


def _changed(span: Span, changes: dict[str, object]) -> Span:
    """`dataclasses.replace(span, **changes)` without its generic machinery: it runs for most
    spans of every trace read, and the plain constructor costs a third as much."""
    if not changes:
        return span
    assert changes.keys() <= _CHANGEABLE, changes.keys()
    get = changes.get
    return Span(
        span.trace_id,
        span.span_id,
        span.operation_name,
        get("references", span.references),  # type: ignore[arg-type]
        span.flags,
        span.start_time,
        get("duration", span.duration),  # type: ignore[arg-type]
        get("tags", span.tags),  # type: ignore[arg-type]
        get("logs", span.logs),  # type: ignore[arg-type]
        get("process", span.process),  # type: ignore[arg-type]
        get("warnings", span.warnings),  # type: ignore[arg-type]
    )


def _sort_span(span: Span, processes: dict[int, Process]) -> Span:
    """SortTagsAndLogFields on one span; `processes` maps id(original) → sorted process so
    that spans sharing a process keep sharing one."""
    changes: dict[str, object] = {}
    tags = _sorted_kvs(span.tags)
    if tags is not None:
        changes["tags"] = tags
    if span.logs:
        new_logs: list[Log] | None = None
        for i, log in enumerate(span.logs):
            fields = _sorted_log_fields(log.fields)
            if fields is not None:
                if new_logs is None:
                    new_logs = list(span.logs)
                new_logs[i] = Log(log.timestamp, fields)
        if new_logs is not None:
            changes["logs"] = new_logs
    proc = span.process
    new_proc = processes.get(id(proc))
    if new_proc is None:
        ptags = _sorted_kvs(proc.tags)
        new_proc = proc if ptags is None else Process(proc.service_name, ptags)
        processes[id(proc)] = new_proc
    if new_proc is not proc:
        changes["process"] = new_proc
    return _changed(span, changes)


def _ip_value(kv: KeyValue) -> KeyValue | None:
    """The dotted-quad replacement of a numeric ip tag, or None to keep it."""
    if kv.key not in _IP_TAGS:
        return None
    if kv.v_type == _INT64:
        n = int(kv.value) & 0xFFFFFFFF  # Go: uint32(int64)
    elif kv.v_type == _FLOAT64:
        f = float(kv.value)
        # Go's uint32(float64) on amd64 goes through int64; NaN/overflow give 1<<63, low bits 0.
        n = int(f) & 0xFFFFFFFF if math.isfinite(f) and abs(f) < 2.0**63 else 0
    else:
        return None
    return KeyValue(kv.key, ValueType.STRING, f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}")


def _fix_ip_tags(kvs: list[KeyValue]) -> list[KeyValue] | None:
    out: list[KeyValue] | None = None
    for i, kv in enumerate(kvs):
        fixed = _ip_value(kv)
        if fixed is not None:
            if out is None:
                out = list(kvs)
            out[i] = fixed
    return out


def _adjust_process(proc: Process, moved: list[KeyValue]) -> Process:
    """IPTagAdjuster and OTelTagAdjuster on a process: fix ip tags, append tags moved off the
    span, and re-sort (both adjusters sort the process tags)."""
    tags = _fix_ip_tags(proc.tags)
    if tags is None and not moved:
        return proc
    tags = (tags if tags is not None else list(proc.tags)) + moved
    return Process(proc.service_name, _sorted_kvs(tags) or tags)


def _invalid_ref_warning(ref: SpanRef) -> str:
    # Go prints the gogo SpanRef struct with %+v; its id fields use their String() methods.
    return (
        f"Invalid span reference removed {{TraceID:{ref.trace_id:016x} SpanID:{ref.span_id:016x} "
        f"RefType:{SpanRefType(ref.ref_type).name} XXX_NoUnkeyedLiteral:{{}} XXX_unrecognized:[] "
        "XXX_sizecache:0}"
    )


def _parent_first(refs: list[SpanRef], trace_id: int) -> list[SpanRef] | None:
    """ParentReference: swap (not move) the parent reference (`model.parent_position`) to index 0;
    None if in place."""
    swap = parent_position(trace_id, [(r.ref_type, r.trace_id, r.span_id) for r in refs])
    if swap <= 0:
        return None
    out = list(refs)
    out[0], out[swap] = out[swap], out[0]
    return out


def _late_adjust(span: Span, processes: dict[int, Process]) -> Span:
    """Adjusters 5-8 on one span (deduplicated already)."""
    changes: dict[str, object] = {}
    tags = span.tags
    fixed = _fix_ip_tags(tags)
    if fixed is not None:
        tags = fixed
    moved: list[KeyValue] = []
    if any(kv.key in _OTEL_LIBRARY_TAGS for kv in tags):
        moved = [kv for kv in tags if kv.key in _OTEL_LIBRARY_TAGS]
        tags = [kv for kv in tags if kv.key not in _OTEL_LIBRARY_TAGS]
    if tags is not span.tags:
        changes["tags"] = tags

    proc = span.process
    if moved:
        # Tags moved off a span belong to that span's process only: a fresh process per span.
        new_proc = _adjust_process(proc, moved)
    else:
        cached = processes.get(id(proc))
        if cached is None:
            cached = _adjust_process(proc, moved)
            processes[id(proc)] = cached
        new_proc = cached
    if new_proc is not proc:
        changes["process"] = new_proc

    refs = span.references
    if any(ref.trace_id == 0 for ref in refs):
        warnings = list(span.warnings or ())
        kept = []
        for ref in refs:
            if ref.trace_id == 0:
                warnings.append(_invalid_ref_warning(ref))
            else:
                kept.append(ref)
        refs = kept
        changes["warnings"] = warnings
    reordered = _parent_first(refs, span.trace_id)
    if reordered is not None:
        refs = reordered
    if refs is not span.references:
        changes["references"] = refs
    return _changed(span, changes)


def _dedupe(spans: Sequence[Span]) -> list[Span]:
    """Drop spans equal in every field to an earlier one. Only spans sharing a span id can be
    equal, so full comparisons are limited to those."""
    seen: dict[int, list[Span]] = {}
    out: list[Span] = []
    for span in spans:
        same_id = seen.get(span.span_id)
        if same_id is None:
            seen[span.span_id] = [span]
        elif any(span == other for other in same_id):
            continue
        else:
            same_id.append(span)
        out.append(span)
    return out


_MAX_SPAN_ID = (1 << 64) - 1
_TOO_MANY_SPANS = "cannot assign unique span ID, too many spans in the trace"


def _uniquify_zipkin_span_ids(spans: list[Span]) -> list[Span]:
    """Jaeger's span id deduper (ZipkinSpanIDUniquifier); `spans` itself when nothing is shared."""
    if len({sp.span_id for sp in spans}) == len(spans):
        return spans  # the usual trace, checked by one set build on every trace read: no id repeats
    by_id: dict[int, list[Span]] = {}
    for sp in spans:
        by_id.setdefault(sp.span_id, []).append(sp)
    shared = {
        sid
        for sid, group in by_id.items()
        if len(group) > 1 and any(sp.span_kind == "client" for sp in group)
    }
    if not shared:
        return spans
    out = list(spans)
    old_to_new: dict[int, int] = {}
    last = 0
    for i, sp in enumerate(out):
        if sp.span_id not in shared or sp.span_kind != "server":
            continue
        new_id = last + 1
        while new_id in by_id:
            new_id += 1
        if new_id >= _MAX_SPAN_ID:
            out[i] = dataclasses.replace(sp, warnings=[*(sp.warnings or []), _TOO_MANY_SPANS])
            continue
        last = new_id
        old_to_new[sp.span_id] = new_id
        # The shared id now names the client span only: it becomes the server span's parent.
        out[i] = dataclasses.replace(sp, span_id=new_id, references=_replace_parent(sp, sp.span_id))
    for i, sp in enumerate(out):
        new_parent = old_to_new.get(sp.parent_span_id)
        if new_parent is not None and sp.span_id != new_parent:
            out[i] = dataclasses.replace(sp, references=_replace_parent(sp, new_parent))
    return out


def _replace_parent(span: Span, new_parent: int) -> list[SpanRef]:
    """Jaeger's ReplaceParentID, on a copy: the reference to the current parent is re-pointed,
    or a CHILD_OF reference added in front when there is none."""
    old, tid, refs = span.parent_span_id, span.trace_id, span.references
    for i, ref in enumerate(refs):
        if ref.span_id == old and ref.trace_id == tid:
            new_refs = list(refs)
            new_refs[i] = SpanRef(ref.ref_type, tid, new_parent)
            return new_refs
    if new_parent == 0 or any(r.span_id == new_parent and r.trace_id == tid for r in refs):
        return refs
    return [SpanRef(SpanRefType.CHILD_OF, tid, new_parent), *refs]


def adjust_trace(trace: Trace) -> Trace:
    """A new Trace with Jaeger's standard adjusters applied (see the module docstring).

    The input trace and everything it references are left untouched.
    """
    sorted_procs: dict[int, Process] = {}
    spans = _uniquify_zipkin_span_ids(trace.spans)
    spans = [_sort_span(span, sorted_procs) for span in spans]
    spans = _dedupe(spans)
    late_procs: dict[int, Process] = {}
    spans = [_late_adjust(span, late_procs) for span in spans]
    warnings = None if trace.warnings is None else list(trace.warnings)
    return Trace(spans, warnings)
