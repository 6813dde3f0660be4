"""Spans as the memory store keeps them: a flat tuple of plain values and one marshalled blob.

CPython's cyclic garbage collector walks every container object it tracks on each full
collection. Kept as model objects, a stored span was ~19 tracked objects; kept as nested tuples it
was still tracked until several collections had untracked it one nesting level at a time. Here a
span is one tuple of ints and strings, a shared process tuple, and a `bytes` blob (`marshal`, C
speed, compact) holding tags, logs and references: the tuple is untracked at its first
collection and the blob never is. The blob is only read back when a search needs tags, for
dependencies, or to rebuild the span.

Layout of a packed span (indexes are the constants below):
  (trace_id, span_id, operation_name, flags, start_time, duration, process, blob, span_kind)
  process: (service_name, ((key, value_type, value), ...)), shared between equal processes
  blob:    marshal of (tags, logs, refs, warnings) with
           tags ((key, value_type, value), ...), logs ((timestamp, tags), ...),
           refs ((ref_type, trace_id, span_id), ...), warnings (str, ...) or None
  span_kind: the span's `span.kind` ("" when none), kept out of the blob for the operation index
A blob may instead hold the span as it came on the wire (wire.py): spans taken straight from
OTLP are packed there, and decoded only when read.
"""

from __future__ import annotations

import marshal
import sys
from typing import Any

from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType, parent_position
from pyjaeger.storage.memory.wire import is_wire, wire_spans

__all__ = [
    "Packed",
    "PackedProcess",
    "Packer",
    "unpack_spans",
    "unpack_details",
    "TRACE_ID",
    "SPAN_ID",
    "OPERATION",
    "START",
    "DURATION",
    "PROCESS",
    "BLOB",
    "KIND",
    "parent_span_id",
]

Packed = tuple[Any, ...]
PackedTags = tuple[tuple[str, int, Any], ...]
PackedProcess = tuple[str, PackedTags]

TRACE_ID, SPAN_ID, OPERATION, FLAGS, START, DURATION, PROCESS, BLOB, KIND = range(9)

_INTERN_LIMIT = 10_000  # distinct processes remembered for sharing; the cache restarts past it
_MARSHAL_VERSION = 4
_intern = sys.intern
_dumps = marshal.dumps
_loads = marshal.loads


def _pack_tags(kvs: list[KeyValue]) -> PackedTags:
    return tuple([(kv.key, int(kv.v_type), kv.value) for kv in kvs])


class Packer:
    """Packs spans, sharing one packed process between spans whose processes are equal."""

    def __init__(self) -> None:
        self._processes: dict[PackedProcess, PackedProcess] = {}
        self._by_object: dict[int, tuple[Process, PackedProcess]] = {}

    def pack(self, span: Span) -> Packed:
        details = (
            _pack_tags(span.tags),
            tuple([(log.timestamp, _pack_tags(log.fields)) for log in span.logs]),
            tuple([(int(r.ref_type), r.trace_id, r.span_id) for r in span.references]),
            tuple(span.warnings) if span.warnings else None,
        )
        return (
            span.trace_id,
            span.span_id,
            _intern(span.operation_name),
            span.flags,
            span.start_time,
            span.duration,
            self.process(span.process),
            _dumps(details, _MARSHAL_VERSION),
            span.span_kind,
        )

    def intern(self, packed: PackedProcess) -> PackedProcess:
        """The one object for packed processes equal to `packed` (as made in another process)."""
        packed = self._processes.setdefault(packed, packed)
        if len(self._processes) > _INTERN_LIMIT:
            self._processes.clear()
        return packed

    def process(self, process: Process) -> PackedProcess:
        """The packed form of `process`, one object for equal processes."""
        # Codecs share one Process object per batch: most spans hit the identity cache.
        hit = self._by_object.get(id(process))
        if hit is not None and hit[0] is process:
            return hit[1]
        packed: PackedProcess = (
            _intern(process.service_name),
            tuple([(_intern(kv.key), int(kv.v_type), kv.value) for kv in process.tags]),
        )
        packed = self.intern(packed)
        if len(self._by_object) > 64:
            self._by_object.clear()
        self._by_object[id(process)] = (process, packed)
        return packed


_VALUE_TYPES = tuple(ValueType)
_REF_TYPES = tuple(SpanRefType)


def unpack_details(p: Packed) -> tuple[PackedTags, tuple[tuple[int, PackedTags], ...], tuple[Any, ...], Any]:
    """(tags, logs, refs, warnings) of a packed span."""
    blob = p[BLOB]
    if is_wire(blob):
        span = wire_spans(blob, Process(p[PROCESS][0], []))[0]
        return (
            _pack_tags(span.tags),
            tuple([(log.timestamp, _pack_tags(log.fields)) for log in span.logs]),
            tuple([(int(r.ref_type), r.trace_id, r.span_id) for r in span.references]),
            tuple(span.warnings) if span.warnings else None,
        )
    return _loads(blob)  # type: ignore[no-any-return]


def _unpack_tags(tags: PackedTags) -> list[KeyValue]:
    vt = _VALUE_TYPES
    return [KeyValue(k, vt[t], v) for k, t, v in tags]


def unpack_spans(packed: list[Packed]) -> list[Span]:
    """Model spans; spans that shared a packed process share one Process object."""
    processes: dict[int, Process] = {}
    rt = _REF_TYPES
    out = []
    for p in packed:
        pp = p[PROCESS]
        proc = processes.get(id(pp))
        if proc is None:
            proc = processes[id(pp)] = Process(pp[0], _unpack_tags(pp[1]))
        blob = p[BLOB]
        if is_wire(blob):
            out += wire_spans(blob, proc)
            continue
        tags, logs, refs, warnings = _loads(blob)
        out.append(
            Span(
                p[TRACE_ID],
                p[SPAN_ID],
                p[OPERATION],
                [SpanRef(rt[t], tid, sid) for t, tid, sid in refs],
                p[FLAGS],
                p[START],
                p[DURATION],
                _unpack_tags(tags),
                [Log(ts, _unpack_tags(fields)) for ts, fields in logs],
                proc,
                list(warnings) if warnings is not None else None,
            )
        )
    return out


def parent_span_id(p: Packed) -> int:
    """The parent by Jaeger's rule (`model.parent_position`), 0 for a root span."""
    refs = unpack_details(p)[2]
    at = parent_position(p[TRACE_ID], refs)
    return refs[at][2] if at >= 0 else 0
