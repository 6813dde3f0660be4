"""Spans as the memory store keeps them: nested tuples of plain values.

CPython's cyclic garbage collector stops tracking a tuple that holds only atomic values (str,
int, float, bytes, bool, None) or such tuples, so a stored span costs the collector nothing once
it has been looked at. Stored as model objects, each span was ~19 tracked objects that every
full collection walked again: at a million spans that was most of the server's CPU and pauses of
seconds. Tuples are also smaller than slotted objects and lists.

Layout of a packed span (indexes are the `_...` constants below):
  (trace_id, span_id, operation_name, flags, start_time, duration,
   tags, logs, refs, process, warnings)
  tags:    ((key, value_type, value), ...)
  logs:    ((timestamp, tags), ...)
  refs:    ((ref_type, trace_id, span_id), ...)
  process: (service_name, tags), shared between spans of equal processes
"""

from __future__ import annotations

import sys
from typing import Any

from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType, value_as_string

__all__ = [
    "Packed",
    "PackedProcess",
    "Packer",
    "unpack_spans",
    "TRACE_ID",
    "SPAN_ID",
    "OPERATION",
    "START",
    "DURATION",
    "TAGS",
    "LOGS",
    "REFS",
    "PROCESS",
    "as_string",
    "span_kind",
    "parent_span_id",
]

Packed = tuple[Any, ...]
PackedProcess = tuple[str, tuple[tuple[str, int, Any], ...]]

TRACE_ID, SPAN_ID, OPERATION, FLAGS, START, DURATION, TAGS, LOGS, REFS, PROCESS, WARNINGS = range(11)

_INTERN_LIMIT = 10_000  # distinct processes remembered for sharing; the cache restarts past it
_SPAN_KINDS = frozenset({"client", "server", "producer", "consumer", "internal"})
_CHILD_OF = int(SpanRefType.CHILD_OF)
_intern = sys.intern


def _pack_tags(kvs: list[KeyValue]) -> tuple[tuple[str, int, Any], ...]:
    return tuple([(_intern(kv.key), int(kv.v_type), kv.value) for kv in kvs])


class Packer:
    """Packs spans, sharing one packed process between spans whose processes are equal."""

    def __init__(self) -> None:
        self._processes: dict[PackedProcess, PackedProcess] = {}
        self._by_object: dict[int, tuple[Process, PackedProcess]] = {}

    def pack(self, span: Span) -> Packed:
        return (
            span.trace_id,
            span.span_id,
            _intern(span.operation_name),
            span.flags,
            span.start_time,
            span.duration,
            _pack_tags(span.tags),
            tuple([(log.timestamp, _pack_tags(log.fields)) for log in span.logs]) if span.logs else (),
            tuple([(int(r.ref_type), r.trace_id, r.span_id) for r in span.references]),
            self._process(span.process),
            tuple(span.warnings) if span.warnings else None,
        )

    def _process(self, process: Process) -> PackedProcess:
        # Codecs share one Process object per batch: most spans hit the identity cache.
        hit = self._by_object.get(id(process))
        if hit is not None and hit[0] is process:
            return hit[1]
        packed: PackedProcess = (_intern(process.service_name), _pack_tags(process.tags))
        try:
            packed = self._processes.setdefault(packed, packed)
        except TypeError:  # an unhashable value cannot be shared; keep it alone
            pass
        if len(self._processes) > _INTERN_LIMIT:
            self._processes.clear()
        if len(self._by_object) > 64:
            self._by_object.clear()
        self._by_object[id(process)] = (process, packed)
        return packed


_VALUE_TYPES = tuple(ValueType)
_REF_TYPES = tuple(SpanRefType)


def _unpack_tags(tags: tuple[tuple[str, int, Any], ...]) -> list[KeyValue]:
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
        out.append(
            Span(
                p[TRACE_ID],
                p[SPAN_ID],
                p[OPERATION],
                [SpanRef(rt[t], tid, sid) for t, tid, sid in p[REFS]],
                p[FLAGS],
                p[START],
                p[DURATION],
                _unpack_tags(p[TAGS]),
                [Log(ts, _unpack_tags(fields)) for ts, fields in p[LOGS]],
                proc,
                list(p[WARNINGS]) if p[WARNINGS] is not None else None,
            )
        )
    return out


def as_string(value_type: int, value: Any) -> str:
    """The value as Jaeger's `AsString` renders it (what tag search compares against)."""
    return value if value_type == 0 else value_as_string(value_type, value)


def span_kind(p: Packed) -> str:
    for key, t, value in p[TAGS]:
        if key == "span.kind" and t == 0 and value in _SPAN_KINDS:
            return value  # type: ignore[no-any-return]
    return ""


def parent_span_id(p: Packed) -> int:
    """Jaeger's rule: the first same-trace CHILD_OF reference, else the first same-trace one."""
    trace_id = p[TRACE_ID]
    follows = 0
    for ref_type, tid, sid in p[REFS]:
        if tid != trace_id:
            continue
        if ref_type == _CHILD_OF:
            return sid  # type: ignore[no-any-return]
        if not follows:
            follows = sid
    return follows
