"""Jaeger Thrift ⇄ model: the `Batch` struct, bare (the collector's POST /api/traces) or in the
agent's `emitBatch` message (an ingest hot path).

Decoding (`thrift_wire`, Thrift's C extension) builds plain structs that are converted to the model
in one loop nest, as Jaeger's `to_domain` does: i64 ids reinterpreted as unsigned, `parentSpanId`
turned into a leading CHILD_OF reference unless a reference with the same ids exists, thrift
`TagType` renumbered to `ValueType`, an absent value field read as the zero value of its type, one
`Process` shared by the whole batch.

Errors, as in Jaeger's Go decoder: malformed or truncated bytes and a missing required field
anywhere (Go's generated code rejects the batch). A field sent with the wrong wire type is
skipped, as both Go's and Apache's decoders do; a required one is then missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyjaeger.codecs import thrift_wire
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.thrift_wire import Missing as _Missing
from pyjaeger.idl.gen_thrift.agent import Agent as _agent_module
from pyjaeger.idl.gen_thrift.jaeger import ttypes as _ttypes_module
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType, add_parent_ref

__all__ = [
    "EMIT_BATCH",
    "BATCH",
    "EMIT_BATCH_ARGS",
    "SPAN",
    "batch_process",
    "spans_to_model",
    "decode_batch",
    "decode_emit_batch",
    "encode_agent_message",
    "encode_batch",
    "encode_batches",
]

# The generated modules carry no types: they are Any at this boundary.
_J: Any = _ttypes_module
_Args: Any = _agent_module.emitBatch_args
BATCH: Any = _J.Batch  # the generated structs, for decoding with `thrift_wire`
SPAN: Any = _J.Span
PROCESS: Any = _J.Process
CLIENT_STATS: Any = _J.ClientStats
EMIT_BATCH_ARGS: Any = _Args

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1
EMIT_BATCH = "emitBatch"


def decode_batch(data: bytes) -> list[Span]:
    """A bare binary-protocol `Batch` struct, as POSTed to the collector's /api/traces."""
    return _decode(bytes(data), 0, False, _J.Batch, "Batch")


def decode_emit_batch(data: bytes, envelope: thrift_wire.Envelope) -> list[Span]:
    """The arguments of an `emitBatch` message whose envelope `thrift_wire.read_envelope` read."""
    return _decode(data, envelope.offset, envelope.compact, _Args, EMIT_BATCH)


def _decode(data: bytes, offset: int, compact: bool, cls: Any, name: str) -> list[Span]:
    """Decode the struct `cls` (emitBatch's arguments or a Batch) at `offset` and convert it."""
    top = thrift_wire.decode_struct(cls, data, offset, compact, name)
    batch = top if cls is _J.Batch else top.batch
    if batch is None:
        raise DecodeError("emitBatch: the batch argument (field 1) is missing")
    try:
        return _to_model(batch)
    except (_Missing, TypeError, AttributeError):
        # A required field is None. The checks that notice it stay cheap; naming it is left to
        # this rare path, which decodes again into generated objects whose validate() knows.
        full = thrift_wire.decode_struct(cls, data, offset, compact, name, full=True)
        raise DecodeError(thrift_wire.missing_field(full, name)) from None


_REF_TYPES = {0: SpanRefType.CHILD_OF, 1: SpanRefType.FOLLOWS_FROM}
_VALUE_TYPES = tuple(ValueType)  # iterating the enum on every call would cost more


def _to_model(batch: Any) -> list[Span]:
    return spans_to_model(batch.spans, batch_process(batch.process))


def _tags_of(tags: Any) -> list[KeyValue]:
    kv_ = KeyValue
    string, boolean, int64, float64, binary = _VALUE_TYPES  # api_v2 order, not thrift's TagType
    out: list[KeyValue] = []
    add = out.append
    for t in tags:
        key = t.key
        if key is None:
            raise _Missing
        vt = t.vType
        if vt == 0:
            v = t.vStr
            add(kv_(key, string, "" if v is None else v))
        elif vt == 3:
            v = t.vLong
            add(kv_(key, int64, 0 if v is None else v))
        elif vt == 2:
            v = t.vBool
            add(kv_(key, boolean, False if v is None else v))
        elif vt == 1:
            v = t.vDouble
            add(kv_(key, float64, 0.0 if v is None else v))
        elif vt == 4:
            v = t.vBinary
            add(kv_(key, binary, b"" if v is None else v))
        elif vt is None:
            raise _Missing
        else:
            # Jaeger keeps such a tag as a string describing it rather than failing the batch.
            add(kv_(key, string, f"Unknown VType: Tag(key={key!r}, vType={vt})"))
    return out


def batch_process(jp: Any) -> Process:
    """A decoded Batch's process; `thrift_wire.Missing` (or TypeError) for a missing field."""
    service = jp.serviceName
    if service is None:
        raise _Missing
    return Process(service, _tags_of(jp.tags) if jp.tags else [])


def spans_to_model(spans_in: Any, process: Process) -> list[Span]:
    """Decoded Span structs as model spans sharing `process`; `thrift_wire.Missing` (or
    TypeError, AttributeError) for a missing required field."""
    # One loop with local aliases: this is where UDP and HTTP ingest spend their time.
    log_, span_, ref_ = Log, Span, SpanRef
    tags_of = _tags_of
    ref_types = _REF_TYPES
    follows_from = ref_types[1]
    u64 = _U64
    spans: list[Span] = []
    keep = spans.append
    for s in spans_in:
        tid = ((s.traceIdHigh & u64) << 64) | (s.traceIdLow & u64)
        op, start, duration = s.operationName, s.startTime, s.duration
        if op is None or start is None or duration is None:
            raise _Missing
        warnings: list[str] | None = None
        refs: list[SpanRef] = []
        if s.references:
            for r in s.references:
                rt = ref_types.get(r.refType)
                if rt is None:
                    if r.refType is None:
                        raise _Missing
                    rt = follows_from
                    warnings = (warnings or []) + [f"unknown refType {r.refType} read as FOLLOWS_FROM"]
                refs.append(ref_(rt, ((r.traceIdHigh & u64) << 64) | (r.traceIdLow & u64), r.spanId & u64))
        parent = s.parentSpanId & u64
        if parent:
            add_parent_ref(refs, tid, parent)
        logs: list[Log] = []
        if s.logs:
            for lg in s.logs:
                ts = lg.timestamp
                if ts is None:
                    raise _Missing
                logs.append(log_(ts, tags_of(lg.fields)))
        tags = tags_of(s.tags) if s.tags else []
        flags = s.flags & 0xFFFFFFFF  # Jaeger's Flags is a uint32
        keep(span_(tid, s.spanId & u64, op, refs, flags, start, duration, tags, logs, process, warnings))
    return spans


def encode_batch(spans: Sequence[Span]) -> bytes:
    """A bare binary `Batch` of spans sharing one process (ValueError otherwise, or if empty)."""
    return _encode(_batch(spans), False)


def encode_batches(spans: Sequence[Span]) -> list[bytes]:
    """One bare binary `Batch` per distinct process (equal by `Process.key()`), first seen first."""
    groups: dict[tuple[object, ...], list[Span]] = {}
    for span in spans:
        groups.setdefault(span.process.key(), []).append(span)
    return [encode_batch(group) for group in groups.values()]


def encode_agent_message(spans: Sequence[Span], protocol: str = "compact") -> bytes:
    """An `Agent.emitBatch` ONEWAY message (seqid 0) as UDP clients send it: "compact" or "binary"."""
    if protocol not in ("compact", "binary"):
        raise ValueError(f"protocol must be 'compact' or 'binary', not {protocol!r}")
    compact = protocol == "compact"
    return thrift_wire.message_head(EMIT_BATCH, compact) + _encode(_Args(_batch(spans)), compact)


def _encode(obj: Any, compact: bool) -> bytes:
    try:
        return thrift_wire.encode_struct(obj, compact)
    except ValueError as e:
        raise ValueError(f"spans cannot be encoded as Jaeger Thrift: {e}") from None


# ValueType → (thrift TagType, index of the value among Tag's positional fields: key, vType,
# vStr, vDouble, vBool, vLong, vBinary).
_TAG_FIELDS = {ValueType.STRING: (0, 2), ValueType.FLOAT64: (1, 3), ValueType.BOOL: (2, 4),
               ValueType.INT64: (3, 5), ValueType.BINARY: (4, 6)}  # fmt: skip


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _batch(spans: Sequence[Span]) -> Any:
    """Jaeger's `from_domain`: parentSpanId is the model's parent and every reference is kept."""
    if not spans:
        raise ValueError("a Jaeger Batch needs at least one span (it takes the process from them)")
    process = spans[0].process
    key = process.key()
    if any(s.process is not process and s.process.key() != key for s in spans):
        raise ValueError("spans of several processes: use encode_batches")
    tag_, u64, tag_fields = _J.Tag, _U64, _TAG_FIELDS

    def tags_of(kvs: list[KeyValue]) -> list[Any]:
        out = []
        for kv in kvs:
            thrift_type, slot = tag_fields[kv.v_type]
            fields: list[Any] = [kv.key, thrift_type, None, None, None, None, None]
            fields[slot] = kv.value
            out.append(tag_(*fields))
        return out

    jspans = []
    for s in spans:
        tid = s.trace_id
        refs = [
            _J.SpanRef(
                int(r.ref_type),
                _signed64(r.trace_id & u64),
                _signed64(r.trace_id >> 64),
                _signed64(r.span_id),
            )
            for r in s.references
        ]
        logs = [_J.Log(lg.timestamp, tags_of(lg.fields)) for lg in s.logs]
        flags = s.flags & _U32
        jspans.append(
            _J.Span(
                _signed64(tid & u64),
                _signed64(tid >> 64),
                _signed64(s.span_id),
                _signed64(s.parent_span_id),
                s.operation_name,
                refs or None,
                flags - (1 << 32) if flags >= 1 << 31 else flags,  # an i32 on the wire
                s.start_time,
                s.duration,
                tags_of(s.tags),
                logs or None,
            )
        )
    return _J.Batch(_J.Process(process.service_name, tags_of(process.tags)), jspans)
