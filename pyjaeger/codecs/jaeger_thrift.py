"""Jaeger Thrift ⇄ model: UDP agent `emitBatch` messages and bare `Batch` structs (an ingest hot path).

Decoding hands the bytes to Apache Thrift's C extension (`fastbinary`), then converts the structs
it builds to the model in one loop nest, as Jaeger's `to_domain` does: i64 ids reinterpreted as
unsigned, `parentSpanId` turned into a leading CHILD_OF reference unless a reference with the same
ids exists, thrift `TagType` renumbered to `ValueType`, an absent value field read as the zero
value of its type, one `Process` shared by the whole batch.

Errors, as in Jaeger's Go decoder: malformed or truncated bytes, an unexpected message, and a
missing required field anywhere (Go's generated code rejects the batch). A field sent with the
wrong wire type is skipped, as both Go's and Apache's decoders do; a required one is then missing.
Invalid UTF-8 in a string is replaced (Go keeps the bytes and its JSON encoder replaces them
later), through a slower pure-Python re-decode of that payload only.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import Any

from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.idl.gen_thrift.agent import Agent as _agent_module
from pyjaeger.idl.gen_thrift.jaeger import ttypes as _ttypes_module
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

try:
    from thrift.protocol import fastbinary as _fastbinary_module
except ImportError:  # an sdist install whose C extension failed to build
    _fastbinary_module = None

__all__ = [
    "ACCELERATED",
    "decode_agent_datagram",
    "decode_agent_message",
    "decode_batch",
    "encode_agent_message",
    "encode_batch",
    "encode_batches",
    "decode_zipkin_span_list",
]

# The generated modules and the C extension carry no types: they are Any at this boundary.
_J: Any = _ttypes_module
_Args: Any = _agent_module.emitBatch_args
_ZArgs: Any = _agent_module.emitZipkinBatch_args


class _SpanList(_ZArgs):  # type: ignore[misc]
    """emitZipkinBatch's arguments standing in for a bare list<Span>, under a name of its own."""

    __slots__ = ()


_fast: Any = _fastbinary_module

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1
_GENERATED_SPECS = {cls: [cls, cls.thrift_spec] for cls in (_Args, _J.Batch, _ZArgs, _SpanList)}
_EMIT_BATCH = "emitBatch"
_EMIT_ZIPKIN_BATCH = "emitZipkinBatch"
_CALL, _ONEWAY = 1, 4  # the message types a sender may give a oneway emitBatch
_BINARY_HEAD = struct.Struct(">II")  # strict binary: version word (0x8001 << 16 | type), name length
_STRICT_VERSION = 0x80010000


class _Source:
    """What `fastbinary.decode_*` reads from a protocol object: the buffer and the size limits."""

    __slots__ = ("container_length_limit", "string_length_limit", "trans")

    def __init__(self, data: bytes, offset: int) -> None:
        self.trans = TMemoryBuffer(data, offset)
        # Nothing can be longer than the payload: this stops a forged list length from making
        # the decoder allocate a huge list before it finds the elements are not there.
        self.string_length_limit = self.container_length_limit = len(data)


def decode_agent_message(data: bytes) -> list[Span]:
    """One UDP datagram: a complete `Agent.emitBatch` or `Agent.emitZipkinBatch` message,
    compact (0x82) or binary (0x80).

    Message types CALL and ONEWAY are accepted. Non-strict binary (no version word: the name
    length first, so a 0x00 first byte) is read too, as Go's agent does. Any other method is a
    DecodeError. Bytes after the message are ignored. Zipkin spans are converted as the Zipkin
    receivers convert them (pyjaeger.codecs.zipkin_v1, then zipkin_translate).
    """
    return decode_agent_datagram(data)[1]


def decode_agent_datagram(data: bytes) -> tuple[str, list[Span]]:
    """`decode_agent_message`, also saying which format the spans came in: "jaeger" or "zipkin"
    (the `format` label of the metrics)."""
    data = bytes(data)
    compact, offset, zipkin = _read_envelope(data)
    if not zipkin:
        return "jaeger", _decode(data, offset, compact, _Args)
    # Imported here: the Zipkin modules use this one's decoding machinery.
    from pyjaeger.codecs.zipkin_translate import zipkin_to_spans
    from pyjaeger.codecs.zipkin_v1 import spans_from_thrift

    args = _decode_struct(_ZArgs, data, offset, compact, _SPECS[_ZArgs])
    return "zipkin", zipkin_to_spans(spans_from_thrift(args.spans, "emitZipkinBatch.spans"))


def decode_zipkin_span_list(data: bytes) -> list[Any]:
    """A bare binary-protocol `list<zipkincore.Span>` (Zipkin's v1 Thrift HTTP body), as structs.

    The C extension decodes structs only, so the list is read as field 1 of a struct: three
    bytes of field header before it and a stop byte after make it emitZipkinBatch's arguments.
    """
    if not data:
        raise DecodeError("list<Span>: empty body")
    if data[0] != TType.STRUCT:
        raise DecodeError(f"list<Span>: list element type {data[0]} is not a struct (12)")
    wrapped = bytes((TType.LIST, 0, 1)) + data + b"\x00"
    return list(_decode_struct(_SpanList, wrapped, 0, False, _SPECS[_SpanList]).spans or [])


def decode_batch(data: bytes) -> list[Span]:
    """A bare binary-protocol `Batch` struct, as POSTed to the collector's /api/traces."""
    return _decode(bytes(data), 0, False, _J.Batch)


def _read_envelope(data: bytes) -> tuple[bool, int, bool]:
    """Check the message header; (is compact, offset of the arguments struct, is emitZipkinBatch)."""
    if not data:
        raise DecodeError("empty datagram: expected a Thrift emitBatch or emitZipkinBatch message")
    first = data[0]
    try:
        if first == 0x82:
            kind, version = data[1] >> 5, data[1] & 0x1F
            if version != 1:
                raise DecodeError(f"compact message version {version}, expected 1")
            _, pos = _varint(data, 2)  # seqid
            size, pos = _varint(data, pos)
        elif first == 0x80:
            word, size = _BINARY_HEAD.unpack_from(data, 0)
            if word & 0xFFFF0000 != _STRICT_VERSION:
                raise DecodeError(f"binary message header 0x{word:08x}, expected 0x8001 then the type")
            kind, pos = word & 0xFF, 8
        elif first == 0:
            size, pos = _BINARY_HEAD.unpack_from(data, 0)[0], 4
        else:
            raise DecodeError(f"first byte 0x{first:02x} is neither Thrift compact (0x82) nor binary (0x80)")
        end = pos + size
        if end > len(data):
            raise DecodeError(f"message name of {size} bytes overruns the {len(data)}-byte datagram")
        name = data[pos:end].decode("utf-8", "replace")
        if first == 0:
            kind, end = data[end], end + 1  # non-strict: the type byte follows the name
        if first != 0x82:
            end += 4  # the binary seqid comes after the name
        if end > len(data):
            # Not only an error: fastbinary misreads (and may crash) from a start past the end.
            raise IndexError
    except (IndexError, struct.error):
        raise DecodeError(f"truncated message header ({len(data)} bytes)") from None
    if name != _EMIT_BATCH and name != _EMIT_ZIPKIN_BATCH:
        raise DecodeError(f"unknown method {name[:64]!r}: only emitBatch and emitZipkinBatch are accepted")
    if kind not in (_CALL, _ONEWAY):
        raise DecodeError(f"message type {kind} for {name}, expected CALL (1) or ONEWAY (4)")
    return first == 0x82, end, name == _EMIT_ZIPKIN_BATCH


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(5):  # a 32-bit varint takes at most 5 bytes
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise DecodeError("varint longer than 5 bytes in the message header")


def _decode(data: bytes, offset: int, compact: bool, cls: Any) -> list[Span]:
    """Decode the struct `cls` (emitBatch's arguments or a Batch) at `offset` and convert it."""
    top = _decode_struct(cls, data, offset, compact, _SPECS[cls])
    batch = top if cls is _J.Batch else top.batch
    if batch is None:
        raise DecodeError("emitBatch: the batch argument (field 1) is missing")
    try:
        return _to_model(batch)
    except (_Missing, TypeError, AttributeError):
        # A required field is None. The checks that notice it stay cheap; naming it is left to
        # this rare path, which decodes again into generated objects whose validate() knows.
        full = _decode_struct(cls, data, offset, compact, _GENERATED_SPECS[cls])
        raise DecodeError(_find_missing(full, _name(cls), cls.thrift_spec)) from None


def _decode_struct(cls: Any, data: bytes, offset: int, compact: bool, spec: list[Any]) -> Any:
    if _fast is None:
        return _decode_pure(cls, data, offset, compact)
    try:
        decode = _fast.decode_compact if compact else _fast.decode_binary
        return decode(None, _Source(data, offset), spec)
    except UnicodeDecodeError:
        return _decode_pure(cls, data, offset, compact)
    except Exception as e:  # the C extension reports bad input as several exception types
        raise _malformed(cls, e) from None


class _ReplacingCompact(TCompactProtocol.TCompactProtocol):  # type: ignore[misc]
    def readString(self) -> str:
        return str(self.readBinary().decode("utf-8", "replace"))


class _ReplacingBinary(TBinaryProtocol.TBinaryProtocol):  # type: ignore[misc]
    def readString(self) -> str:
        return str(self.readBinary().decode("utf-8", "replace"))


def _decode_pure(cls: Any, data: bytes, offset: int, compact: bool) -> Any:
    """The generated pure-Python reader: without the C extension, or to replace invalid UTF-8."""
    proto_cls = _ReplacingCompact if compact else _ReplacingBinary
    n = len(data)
    proto = proto_cls(TMemoryBuffer(data, offset), string_length_limit=n, container_length_limit=n)
    obj = cls()
    try:
        obj.read(proto)
    except Exception as e:  # RecursionError on absurd nesting and EOFError on truncation included
        raise _malformed(cls, e) from None
    return obj


_NAMES = {_Args: _EMIT_BATCH, _ZArgs: _EMIT_ZIPKIN_BATCH, _SpanList: "list<Span>"}


def _name(cls: Any) -> str:
    return _NAMES.get(cls) or str(cls.__name__)


def _malformed(cls: Any, e: BaseException) -> DecodeError:
    detail = "unexpected end of data" if isinstance(e, EOFError) else getattr(e, "message", None) or str(e)
    return DecodeError(f"{_name(cls)}: malformed Thrift: {detail or type(e).__name__}")


def _light_specs() -> dict[Any, list[Any]]:
    """Decode specs naming plain attribute classes instead of the generated ones.

    `fastbinary` (thrift 0.24+) builds a struct by calling its class and setting the fields it
    finds. The generated classes run a Python __init__ that sets every field to None first; a
    class without __init__ whose attributes default to None takes a fifth less decode time. The
    generated classes remain the reference: they encode, and they re-decode to name errors.
    """
    light: dict[Any, Any] = {}

    def args_of(ttype: int, args: Any) -> Any:
        if ttype == TType.STRUCT:
            gen = args[0]
            if gen not in light:
                names = [item[2] for item in gen.thrift_spec if item is not None]
                light[gen] = type(f"Light{gen.__name__}", (), dict.fromkeys(names))
            spec = tuple(i and (i[0], i[1], i[2], args_of(i[1], i[3]), i[4]) for i in gen.thrift_spec)
            return [light[gen], spec]
        if ttype == TType.LIST:
            return (args[0], args_of(args[0], args[1]), args[2])
        return args

    return {cls: args_of(TType.STRUCT, [cls, None]) for cls in _GENERATED_SPECS}


def _probe_c_extension() -> dict[Any, list[Any]] | None:
    """The decode specs to use with the C extension, or None when it must not be used.

    Thrift before 0.25 recurses without limit when it skips nested unknown fields: one crafted
    datagram overflows the C stack and kills the process. With such a version the pure-Python
    reader (bounded by Python's recursion limit) takes over. The light specs are used only if
    this version builds structs as expected.
    """
    if _fast is None:
        return None
    nested = b"\x59" + b"\x19" * 100 + b"\x09\x00"  # Batch field 5: lists in lists, 101 deep
    try:
        _fast.decode_compact(None, _Source(nested, 0), _GENERATED_SPECS[_J.Batch])
        return None
    except TProtocolException:
        pass  # "Maximum recursion depth exceeded": bounded
    except Exception:
        return None
    light = _light_specs()
    probe = _fast.encode_binary(
        _J.Batch(_J.Process("p", [_J.Tag("k", 0, "v")]), []), _GENERATED_SPECS[_J.Batch]
    )
    try:
        got = _fast.decode_binary(None, _Source(probe, 0), light[_J.Batch])
        if got.process.tags[0].vStr == "v" and got.spans == [] and got.seqNo is None:
            return light
    except Exception:  # thrift before 0.24 passes the fields to the class as keyword arguments
        pass
    return _GENERATED_SPECS


_probed = _probe_c_extension()
if _probed is None:
    _fast = None
_SPECS: dict[Any, list[Any]] = _probed or _GENERATED_SPECS
ACCELERATED = _fast is not None
"""False when thrift's C extension is missing or unsafe: decoding is then about 10x slower."""


class _Missing(Exception):
    """A required field came out as None; `_decode` then finds which one to name."""


_REF_TYPES = {0: SpanRefType.CHILD_OF, 1: SpanRefType.FOLLOWS_FROM}
_VALUE_TYPES = tuple(ValueType)  # iterating the enum on every call would cost more


def _to_model(batch: Any) -> list[Span]:
    # One loop nest with local aliases: this is where UDP and HTTP ingest spend their time.
    kv_, log_, span_, ref_ = KeyValue, Log, Span, SpanRef
    string, boolean, int64, float64, binary = _VALUE_TYPES  # api_v2 order, not thrift's TagType
    ref_types = _REF_TYPES
    child_of, follows_from = ref_types[0], ref_types[1]
    u64 = _U64

    def tags_of(tags: Any) -> list[KeyValue]:
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

    jp = batch.process
    service = jp.serviceName
    if service is None:
        raise _Missing
    process = Process(service, tags_of(jp.tags) if jp.tags else [])

    spans: list[Span] = []
    keep = spans.append
    for s in batch.spans:
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
            # Jaeger's MaybeAddParentSpanID: a reference with the same ids, of either type, is enough.
            for r in refs:
                if r.span_id == parent and r.trace_id == tid:
                    break
            else:
                refs.insert(0, ref_(child_of, tid, parent))
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


_UNSET = re.compile(r"Required field (\w+) is unset")


def _find_missing(obj: Any, path: str, spec: Any) -> str:
    return _search(obj, path, spec) or f"{path}: cannot convert to spans"


def _search(obj: Any, path: str, spec: Any) -> str:
    """The path of the first required field that is None; the generated validate() knows which."""
    try:
        obj.validate()
    except TProtocolException as e:
        m = _UNSET.search(str(e.message))
        return f"{path}.{m.group(1) if m else '?'}: required field is missing (absent, or of the wrong type)"
    for item in filter(None, spec):
        _, ttype, name, args, _ = item
        value = getattr(obj, name)
        if value is None:
            continue
        if ttype == TType.STRUCT:
            found = _search(value, f"{path}.{name}", args[1])
        elif ttype == TType.LIST and args[0] == TType.STRUCT:
            found = next(
                (f for i, e in enumerate(value) if (f := _search(e, f"{path}.{name}[{i}]", args[1][1]))), ""
            )
        else:
            continue
        if found:
            return found
    return ""


def encode_batch(spans: Sequence[Span]) -> bytes:
    """A bare binary `Batch` of spans sharing one process (ValueError otherwise, or if empty)."""
    return _encode(_batch(spans), _J.Batch, compact=False)


def encode_batches(spans: Sequence[Span]) -> list[bytes]:
    """One bare binary `Batch` per distinct process (equal by `Process.key()`), first seen first."""
    groups: dict[tuple[object, ...], list[Span]] = {}
    for span in spans:
        groups.setdefault(span.process.key(), []).append(span)
    return [encode_batch(group) for group in groups.values()]


def encode_agent_message(spans: Sequence[Span], protocol: str = "compact") -> bytes:
    """An `Agent.emitBatch` ONEWAY message (seqid 0) as UDP clients send it: "compact" or "binary"."""
    name = _EMIT_BATCH.encode()
    if protocol == "compact":
        head = bytes([0x82, (_ONEWAY << 5) | 1, 0, len(name)]) + name
    elif protocol == "binary":
        head = _BINARY_HEAD.pack(_STRICT_VERSION | _ONEWAY, len(name)) + name + bytes(4)
    else:
        raise ValueError(f"protocol must be 'compact' or 'binary', not {protocol!r}")
    return head + _encode(_Args(_batch(spans)), _Args, compact=protocol == "compact")


def _encode(obj: Any, cls: Any, *, compact: bool) -> bytes:
    try:
        if _fast is not None:
            encode = _fast.encode_compact if compact else _fast.encode_binary
            return bytes(encode(obj, _GENERATED_SPECS[cls]))
        trans = TMemoryBuffer()
        obj.write((TCompactProtocol.TCompactProtocol if compact else TBinaryProtocol.TBinaryProtocol)(trans))
        return bytes(trans.getvalue())
    except (OverflowError, TypeError, struct.error) as e:
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
