"""The canonical span model every codec converts to and from.

Mirrors Jaeger's domain model: 128-bit trace ids (high 64 bits zero for 64-bit ids), 64-bit span
ids, times and durations in integer microseconds. Slotted and positional so that codecs on the
hot path build them cheaply; nothing here knows a wire format.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyjaeger.gotext.strconv import format_g

__all__ = [
    "ValueType",
    "SpanRefType",
    "KeyValue",
    "value_as_string",
    "Log",
    "SpanRef",
    "Process",
    "Span",
    "Trace",
    "DependencyLink",
    "trace_id_to_hex",
    "span_id_to_hex",
    "trace_id_from_hex",
    "span_id_from_hex",
    "parent_position",
    "add_parent_ref",
    "MAX_TRACE_ID",
    "MAX_SPAN_ID",
    "FLAG_SAMPLED",
    "FLAG_DEBUG",
    "FLAG_FIREHOSE",
]

MAX_TRACE_ID = (1 << 128) - 1
MAX_SPAN_ID = (1 << 64) - 1
_LOW_MASK = (1 << 64) - 1

FLAG_SAMPLED = 1
FLAG_DEBUG = 2
FLAG_FIREHOSE = 8


class ValueType(enum.IntEnum):
    """Tag value types, numbered as api_v2 `ValueType` (not thrift's `TagType`)."""

    STRING = 0
    BOOL = 1
    INT64 = 2
    FLOAT64 = 3
    BINARY = 4


class SpanRefType(enum.IntEnum):
    CHILD_OF = 0
    FOLLOWS_FROM = 1


Value = str | bool | int | float | bytes


@dataclass(slots=True)
class KeyValue:
    """A typed tag or log field; `value`'s Python type matches `v_type`."""

    key: str
    v_type: ValueType
    value: Value

    def as_string(self) -> str:
        """The value as Jaeger's `AsString` renders it; tag search compares against this."""
        return value_as_string(self.v_type, self.value)


def value_as_string(v_type: int, value: Value) -> str:
    """Jaeger's `AsString`: bool as true/false, float as Go's %g with 10 digits, binary as hex."""
    if v_type == ValueType.STRING:
        return value  # type: ignore[return-value]
    if v_type == ValueType.BOOL:
        return "true" if value else "false"
    if v_type == ValueType.INT64:
        return str(value)
    if v_type == ValueType.FLOAT64:
        return format_g(float(value), 10)
    return bytes(value).hex()  # type: ignore[arg-type]


@dataclass(slots=True)
class Log:
    timestamp: int  # µs since epoch
    fields: list[KeyValue]


@dataclass(slots=True)
class SpanRef:
    ref_type: SpanRefType
    trace_id: int
    span_id: int


@dataclass(slots=True)
class Process:
    """Shared by every span of one batch: codecs build one per resource/batch, not per span."""

    service_name: str
    tags: list[KeyValue] = field(default_factory=list)

    def key(self) -> tuple[object, ...]:
        """A hashable identity: equal processes share one `pN` id in the query JSON."""
        return (self.service_name, tuple((t.key, int(t.v_type), t.value) for t in self.tags))


@dataclass(slots=True)
class Span:
    trace_id: int
    span_id: int
    operation_name: str
    references: list[SpanRef]
    flags: int
    start_time: int  # µs since epoch
    duration: int  # µs
    tags: list[KeyValue]
    logs: list[Log]
    process: Process
    warnings: list[str] | None = None

    @property
    def parent_span_id(self) -> int:
        """The parent by Jaeger's rule (`parent_position`), 0 for a root span."""
        refs = self.references
        at = parent_position(self.trace_id, [(r.ref_type, r.trace_id, r.span_id) for r in refs])
        return refs[at].span_id if at >= 0 else 0

    def tag(self, key: str) -> KeyValue | None:
        for kv in self.tags:
            if kv.key == key:
                return kv
        return None

    @property
    def span_kind(self) -> str:
        """The `span.kind` tag when it is one of Jaeger's kinds, else ''."""
        kv = self.tag("span.kind")
        if kv is not None and kv.value in _SPAN_KINDS:
            return kv.value
        return ""


_SPAN_KINDS = frozenset({"client", "server", "producer", "consumer", "internal"})
_CHILD_OF = int(SpanRefType.CHILD_OF)


def parent_position(trace_id: int, refs: Iterable[tuple[int, int, int]]) -> int:
    """Jaeger's parent rule, over (ref type, trace id, span id) references: the index of the first
    same-trace CHILD_OF reference, else of the first same-trace reference of any type; -1 when
    the span has no parent."""
    other = -1
    for i, (ref_type, tid, _) in enumerate(refs):
        if tid == trace_id:
            if ref_type == _CHILD_OF:
                return i
            if other < 0:
                other = i
    return other


def add_parent_ref(refs: list[SpanRef], trace_id: int, parent: int) -> None:
    """Jaeger's MaybeAddParentSpanID, for formats with a parent id field: a leading CHILD_OF
    reference to `parent`, unless a reference with the same ids (of either type) is there."""
    for r in refs:
        if r.span_id == parent and r.trace_id == trace_id:
            return
    refs.insert(0, SpanRef(SpanRefType.CHILD_OF, trace_id, parent))


@dataclass(slots=True)
class Trace:
    spans: list[Span]
    warnings: list[str] | None = None

    @property
    def trace_id(self) -> int:
        return self.spans[0].trace_id if self.spans else 0


@dataclass(slots=True, frozen=True)
class DependencyLink:
    parent: str
    child: str
    call_count: int
    source: str = ""


def trace_id_to_hex(trace_id: int) -> str:
    """16 hex digits when the high 64 bits are zero, else 32, as Jaeger renders them."""
    if trace_id >> 64:
        return f"{trace_id:032x}"
    return f"{trace_id:016x}"


def span_id_to_hex(span_id: int) -> str:
    return f"{span_id:016x}"


def trace_id_from_hex(s: str) -> int:
    """Parse 1..32 hex digits (Jaeger accepts short ids and left-pads); ValueError otherwise."""
    if not 0 < len(s) <= 32 or not _is_hex(s):
        raise ValueError(f"malformed trace id {s!r}: expected 1 to 32 hex characters")
    return int(s, 16)


def span_id_from_hex(s: str) -> int:
    if not 0 < len(s) <= 16 or not _is_hex(s):
        raise ValueError(f"malformed span id {s!r}: expected 1 to 16 hex characters")
    return int(s, 16)


# Not int(s, 16) alone: that also takes "0x1f", " 1f" and "1_f". A regex, because the Zipkin
# receivers parse two or three ids per span.
_HEX = re.compile(r"[0-9a-fA-F]*")


def _is_hex(s: str) -> bool:
    return _HEX.fullmatch(s) is not None


def split_trace_id(trace_id: int) -> tuple[int, int]:
    """(high, low) unsigned 64-bit halves."""
    return trace_id >> 64, trace_id & _LOW_MASK
