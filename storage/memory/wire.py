"""Spans stored as the bytes they came in, decoded only when they are read.

The ingest hot path of the memory store: instead of building a model span (a Python object per
attribute) and packing it again, the request is parsed in C (upb for OTLP, Thrift's fastbinary
for Jaeger's Batch) and each span keeps its own wire bytes in the packed record's blob, sliced
from the request: OTLP as a one-span `ScopeSpans` message (the scope's bytes first; the framing
walk is `codecs/proto_wire.py`), Thrift as the `Span` struct in the protocol it came in (the
batch is decoded span by span, `thrift_wire.StructWalker`). A request laid out unusually has its
spans serialized again instead (C). Only what the store indexes and the collector counts is read
in Python: ids, name, kind, times, flags, and for root spans `sampler.type`. Reading a span back
converts those bytes with the wire format's own codec (`scope_spans_to_model`,
`spans_to_model`), so it reads back exactly as if it had been decoded at ingest.

What the codec would refuse is refused alike (DecodeError, or `rejected` for OTLP's invalid
ids). A Thrift batch with anything unusual (a missing required field, a time the limits screen
would refuse) makes the decoder decline (None): the receiver then takes the codec's path, which
words the error or screens the spans one by one.

A blob's first byte says its form (`WIRE_OTLP`, `WIRE_THRIFT`, `WIRE_THRIFT_COMPACT`); a marshal
blob (packed.py) starts with a marshal type code, never with these.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.codecs import jaeger_thrift, thrift_wire
from pyjaeger.codecs.errors import DecodeError, parse_protobuf
from pyjaeger.codecs.limits import MAX_TIME_US, MIN_TIME_US
from pyjaeger.codecs.otel_translate import MADE_UP_TAG_KEYS, SPAN_KINDS
from pyjaeger.codecs.otlp import any_value, id_problem, resource_process, scope_spans_to_model
from pyjaeger.codecs.proto_wire import nested_fields
from pyjaeger.model import FLAG_DEBUG, Process, Span
from pyjaeger.storage.base import StoredBatch

__all__ = [
    "WIRE_OTLP",
    "WIRE_THRIFT",
    "WIRE_THRIFT_COMPACT",
    "otlp_batch",
    "thrift_batch",
    "agent_batch",
    "wire_spans",
    "is_wire",
]

WIRE_OTLP = 0x01
WIRE_THRIFT = 0x02  # a Jaeger Thrift Span struct, binary protocol
WIRE_THRIFT_COMPACT = 0x03  # the same, compact protocol (as agent datagrams carry it)
EMPTY_SERVICE = "empty-service-name"  # the collector's sanitizer, applied where the records are made

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_VARINTS = tuple(
    bytes((n,)) if n < 0x80 else bytes((n & 0x7F | 0x80, n >> 7)) for n in range(1 << 14)
)  # length prefixes up to 16 KiB, precomputed


def _varint(n: int) -> bytes:
    if n < 1 << 14:
        return _VARINTS[n]
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def is_wire(blob: bytes) -> bool:
    return blob[0] <= WIRE_THRIFT_COMPACT


def otlp_batch(data: bytes, pack_process: Any) -> StoredBatch:
    """An ExportTraceServiceRequest as packed records (packed.py's layout, blob in wire form).

    `pack_process(Process)` gives the packed process (the store's `Packer`, interning). Refuses
    what `codecs.otlp` refuses: bytes protobuf cannot parse (DecodeError), spans whose own ids
    are invalid (counted in `rejected`)."""
    req = parse_protobuf(trace_service_pb2.ExportTraceServiceRequest(), data)
    # Each span's bytes are sliced from the request (tag and length included) when the framing
    # walk agrees with the parser on the counts; otherwise serialized again.
    ranges: Any = nested_fields(data, (1, 2, 2))
    if ranges is not None and len(ranges) != len(req.resource_spans):
        ranges = None
    from_bytes = int.from_bytes
    kinds = SPAN_KINDS
    zero_trace, zero_span = _ZERO_TRACE, _ZERO_SPAN
    records: list[Any] = []
    keep = records.append
    spans: dict[tuple[str, bool], int] = {}
    roots: dict[tuple[str, bool, str], int] = {}
    rejected = 0
    first_reason = ""
    for ri, rs in enumerate(req.resource_spans):
        process = resource_process(rs.resource.attributes)
        if not process.service_name:
            process.service_name = EMPTY_SERVICE
        packed_process = pack_process(process)
        service = process.service_name
        rs_ranges = ranges[ri] if ranges is not None and len(ranges[ri]) == len(rs.scope_spans) else None
        for si, ss in enumerate(rs.scope_spans):
            scope = ss.scope.SerializeToString()
            head = bytes((WIRE_OTLP,)) + (b"\x0a" + _varint(len(scope)) + scope if scope else b"")
            slices = rs_ranges[si] if rs_ranges is not None and len(rs_ranges[si]) == len(ss.spans) else None
            n = 0
            for pi, sp in enumerate(ss.spans):
                tid_b = sp.trace_id
                sid_b = sp.span_id
                if len(tid_b) != 16 or len(sid_b) != 8 or tid_b == zero_trace or sid_b == zero_span:
                    rejected += 1
                    if not first_reason:
                        where = f"resource_spans[{ri}].scope_spans[{si}].spans[{pi}]"
                        first_reason = f"{where}: {id_problem(tid_b, sid_b)}"
                    continue
                if slices is not None:
                    at, stop = slices[pi]
                    blob = head + data[at:stop]
                else:
                    body = sp.SerializeToString()
                    blob = head + b"\x12" + _varint(len(body)) + body
                start = sp.start_time_unix_nano
                duration = (sp.end_time_unix_nano - start) // 1000
                kind = sp.kind
                keep(
                    (
                        from_bytes(tid_b, "big"),
                        from_bytes(sid_b, "big"),
                        sp.name,
                        1,  # SDKs export sampled spans only (codecs.otel_translate)
                        start // 1000,
                        duration if duration > 0 else 0,
                        packed_process,
                        blob,
                        kinds[kind] if 0 <= kind < 6 else "",
                    )
                )
                n += 1
                if not sp.parent_span_id and not sp.links:
                    # Walking the attributes costs a wrapper object each: look in the bytes first.
                    sampler = _sampler(sp) if b"sampler.type" in blob else "unrecognized"
                    key = (service, False, sampler)
                    roots[key] = roots.get(key, 0) + 1
            if n:
                spans[service, False] = spans.get((service, False), 0) + n
    return StoredBatch(records, spans, roots, rejected, first_reason)


def _sampler(sp: Any) -> str:
    for a in sp.attributes:
        if a.key == "sampler.type":
            value = a.value.string_value
            return (
                value if value in ("probabilistic", "lowerbound", "ratelimiting", "const") else "unrecognized"
            )
    return "unrecognized"


def wire_spans(blob: bytes, process: Process) -> list[Span]:
    """The span a wire blob holds, as its codec makes it."""
    if blob[0] in (WIRE_THRIFT, WIRE_THRIFT_COMPACT):
        span = thrift_wire.decode_struct(jaeger_thrift.SPAN, blob, 1, blob[0] == WIRE_THRIFT_COMPACT, "Span")
        return jaeger_thrift.spans_to_model([span], process)
    if blob[0] != WIRE_OTLP:
        raise DecodeError(f"unknown stored form {blob[0]:#x}")
    ss = trace_pb2.ScopeSpans.FromString(blob[1:])
    out: list[Span] = []
    scope_spans_to_model(ss, process, out, "stored")
    return out


def may_have_key(blob: bytes, key: str) -> bool:
    """False when no span tag or log field of the span in `blob` (any stored form: wire or
    packed) can be named `key`: every form keeps keys as their UTF-8 bytes, so a search skips
    most spans without decoding one."""
    if is_wire(blob) and blob[0] == WIRE_OTLP and key in MADE_UP_TAG_KEYS:
        return True
    try:
        return key.encode() in blob
    except UnicodeEncodeError:
        return True


def otlp_tag_values(blob: bytes, key: str) -> list[tuple[int, Any]] | None:
    """(value type, value) of each span tag and log field named `key` of the span an OTLP blob
    holds, as decoding makes them, without converting the rest of the span; None for other
    forms and for the keys decoding makes up."""
    if not is_wire(blob) or blob[0] != WIRE_OTLP or key in MADE_UP_TAG_KEYS:
        return None
    span = trace_pb2.ScopeSpans.FromString(blob[1:]).spans[0]
    found: list[tuple[int, Any]] = [any_value(a.value) for a in span.attributes if a.key == key]
    for event in span.events:
        found += [any_value(a.value) for a in event.attributes if a.key == key]
    return found


# --- Jaeger Thrift -----------------------------------------------------------------------------

_U64 = (1 << 64) - 1
_KINDS = frozenset(SPAN_KINDS) - {""}
_SAMPLERS = frozenset({"probabilistic", "lowerbound", "ratelimiting", "const"})
_THRIFT_HEAD = bytes((WIRE_THRIFT,))
_THRIFT_COMPACT_HEAD = bytes((WIRE_THRIFT_COMPACT,))


class _Decline(Exception):
    """Something the fast path leaves to the codec."""


def thrift_batch(data: bytes, pack_process: Any) -> StoredBatch | None:
    """A bare binary Jaeger `Batch` (the collector's POST /api/traces) as packed records."""
    data = bytes(data)
    walked = _walk_batch(data, 0, False, False)
    if walked is not None:
        return _thrift_records(*walked, pack_process, False)
    batch = thrift_wire.decode_struct(jaeger_thrift.BATCH, data, 0, False, "Batch")
    return _thrift_records(batch.process, batch.spans, None, pack_process, False)


def agent_batch(data: bytes, pack_process: Any) -> StoredBatch | None:
    """An agent datagram holding `emitBatch` (compact or binary) as packed records; None for
    anything else (emitZipkinBatch included), which the codec then takes."""
    data = bytes(data)
    try:
        envelope = thrift_wire.read_envelope(data, (jaeger_thrift.EMIT_BATCH,))
    except DecodeError:
        return None
    compact = envelope.compact
    walked = _walk_batch(data, envelope.offset, compact, True)
    if walked is not None:
        return _thrift_records(*walked, pack_process, compact)
    args = thrift_wire.decode_struct(
        jaeger_thrift.EMIT_BATCH_ARGS, data, envelope.offset, compact, jaeger_thrift.EMIT_BATCH
    )
    if args.batch is None:
        return None
    return _thrift_records(args.batch.process, args.batch.spans, None, pack_process, compact)


def _walk_batch(
    data: bytes, offset: int, compact: bool, in_args: bool
) -> tuple[Any, Any, list[bytes]] | None:
    """(process, spans, each span's own bytes) of the Batch at `offset` (in `emitBatch_args` when
    `in_args`), decoded span by span; None when its layout is anything but the usual one."""
    try:
        w = thrift_wire.StructWalker(data, offset, compact)
        if in_args:
            head = w.field()
            if head is None or head[1] != 1 or not w.is_struct(head[0]):
                return None
            w.begin_struct()
        process = spans = None
        slices: list[bytes] = []
        while (head := w.field()) is not None:
            ttype, fid = head
            if fid == 1 and w.is_struct(ttype) and process is None:
                process = w.struct(jaeger_thrift.PROCESS)
            elif fid == 2 and w.is_list(ttype) and spans is None:
                spans = []
                for _ in range(w.struct_list()):
                    start = w.pos
                    spans.append(w.struct(jaeger_thrift.SPAN))
                    slices.append(data[start : w.pos])
            elif fid == 3 and w.is_i64(ttype):
                w.skip_i64()
            elif fid == 4 and w.is_struct(ttype):
                w.struct(jaeger_thrift.CLIENT_STATS)
            else:
                return None
        if in_args:
            w.end_struct()
            if w.field() is not None or w.pos != len(data):
                return None
        elif w.pos != len(data):
            return None
    except thrift_wire.StructWalker.Surprise:
        return None
    if process is None or spans is None:
        return None
    return process, spans, slices


def _thrift_records(
    process: Any, spans: Any, slices: list[bytes] | None, pack_process: Any, compact: bool
) -> StoredBatch | None:
    try:
        return _thrift_records_or_decline(process, spans, slices, pack_process, compact)
    except (_Decline, thrift_wire.Missing, TypeError, AttributeError):
        return None


def _thrift_records_or_decline(
    jprocess: Any, jspans: Any, slices: list[bytes] | None, pack_process: Any, compact: bool
) -> StoredBatch:
    """`slices`: each span's bytes as they came (compact or binary), or None: encoded again."""
    if jprocess is None or jspans is None:
        raise _Decline
    process = jaeger_thrift.batch_process(jprocess)
    if not process.service_name:
        process.service_name = EMPTY_SERVICE
    packed_process = pack_process(process)
    service = process.service_name
    encode = thrift_wire.encode_light
    if not thrift_wire.ACCELERATED:
        raise _Decline
    u64 = _U64
    kinds, samplers = _KINDS, _SAMPLERS
    lo_time, hi_time = MIN_TIME_US, MAX_TIME_US
    records: list[Any] = []
    keep = records.append
    spans: dict[tuple[str, bool], int] = {}
    roots: dict[tuple[str, bool, str], int] = {}
    head = _THRIFT_COMPACT_HEAD if compact and slices is not None else _THRIFT_HEAD
    for i, s in enumerate(jspans):
        tid = ((s.traceIdHigh & u64) << 64) | (s.traceIdLow & u64)
        sid = s.spanId & u64
        parent = s.parentSpanId & u64
        op, start, duration = s.operationName, s.startTime, s.duration
        flags = s.flags & 0xFFFFFFFF
        if op is None or start is None or duration is None:
            raise _Decline
        if duration < 0:
            duration = 0
        if not lo_time <= start <= hi_time or start + duration > hi_time:
            raise _Decline
        kind = sampler = None
        if s.tags:
            for t in s.tags:
                key = t.key
                if key is None or t.vType is None:
                    raise _Decline
                if key == "span.kind" and kind is None:
                    kind = t.vStr if t.vType == 0 and t.vStr in kinds else ""
                elif key == "sampler.type" and sampler is None:
                    sampler = t.vStr if t.vType == 0 and t.vStr in samplers else "unrecognized"
        if s.logs:
            for lg in s.logs:
                ts = lg.timestamp
                if ts is None or not lo_time <= ts <= hi_time:
                    raise _Decline
                for t in lg.fields:
                    if t.key is None or t.vType is None:
                        raise _Decline
        if s.references:
            for r in s.references:
                if r.refType is None or r.traceIdHigh is None or r.traceIdLow is None or r.spanId is None:
                    raise _Decline
        debug = bool(flags & FLAG_DEBUG)
        blob = head + (slices[i] if slices is not None else encode(s, jaeger_thrift.SPAN))
        keep((tid, sid, op, flags, start, duration, packed_process, blob, kind or ""))
        key2 = (service, debug)
        spans[key2] = spans.get(key2, 0) + 1
        if not parent and not s.references:
            key3 = (service, debug, sampler or "unrecognized")
            roots[key3] = roots.get(key3, 0) + 1
    return StoredBatch(records, spans, roots)
