"""Apache Thrift on the wire, for every Thrift codec: message envelopes, and structs decoded and
encoded through Thrift's C extension (`fastbinary`) with a pure-Python fallback.

Decoding builds plain attribute objects ("light" classes) instead of the generated ones: a class
without `__init__` whose attributes default to None takes a fifth less decode time. The generated
classes remain the reference: they encode, and a second decode into them names a missing
required field (`missing_field`). Invalid UTF-8 in a string is replaced (Go keeps the bytes and
its JSON encoder replaces them later), through the slower pure-Python reader of that payload only.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.idl.gen_thrift.jaeger import ttypes as _jaeger_ttypes

try:
    from thrift.protocol import fastbinary as _fastbinary_module
except ImportError:  # an sdist install whose C extension failed to build
    _fastbinary_module = None

__all__ = [
    "ACCELERATED",
    "CALL",
    "ONEWAY",
    "Envelope",
    "Missing",
    "read_envelope",
    "decode_struct",
    "missing_field",
    "encode_struct",
    "encode_light",
    "message_head",
    "StructWalker",
]

# The generated modules and the C extension carry no types: they are Any at this boundary.
_fast: Any = _fastbinary_module
_J: Any = _jaeger_ttypes

CALL, ONEWAY = 1, 4  # the message types a sender may give a oneway call
_BINARY_HEAD = struct.Struct(">II")  # strict binary: version word (0x8001 << 16 | type), name length
_STRICT_VERSION = 0x80010000


class Missing(Exception):
    """A required field came out as None; the codec then names it with `missing_field`."""


@dataclass(frozen=True, slots=True)
class Envelope:
    compact: bool  # compact (0x82) or binary protocol
    offset: int  # where the arguments struct starts
    name: str  # the method


class _Source:
    """What `fastbinary.decode_*` reads from a protocol object: the buffer and the size limits."""

    __slots__ = ("container_length_limit", "string_length_limit", "trans")

    def __init__(self, data: bytes, offset: int) -> None:
        self.trans = TMemoryBuffer(data, offset)
        # Nothing can be longer than the payload: this stops a forged list length from making
        # the decoder allocate a huge list before it finds the elements are not there.
        self.string_length_limit = self.container_length_limit = len(data)


def read_envelope(data: bytes, methods: Collection[str]) -> Envelope:
    """Check a message header (compact 0x82, strict binary 0x80, or non-strict binary with the
    name length first) for a CALL or ONEWAY of one of `methods`."""
    if not data:
        raise DecodeError(f"empty datagram: expected a Thrift {' or '.join(methods)} message")
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
    if name not in methods:
        raise DecodeError(f"unknown method {name[:64]!r}: only {' and '.join(methods)} are accepted")
    if kind not in (CALL, ONEWAY):
        raise DecodeError(f"message type {kind} for {name}, expected CALL (1) or ONEWAY (4)")
    return Envelope(first == 0x82, end, name)


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


def message_head(name: str, compact: bool) -> bytes:
    """The header of a ONEWAY message with seqid 0, as UDP clients send it."""
    raw = name.encode()
    if compact:
        return bytes([0x82, (ONEWAY << 5) | 1, 0, len(raw)]) + raw
    return _BINARY_HEAD.pack(_STRICT_VERSION | ONEWAY, len(raw)) + raw + bytes(4)


def decode_struct(cls: Any, data: bytes, offset: int, compact: bool, name: str, *, full: bool = False) -> Any:
    """The struct `cls` at `offset`, as light objects (`full`: as generated objects)."""
    spec = _light_spec(cls) if _use_light and not full else [cls, cls.thrift_spec]
    if _fast is None:
        return _decode_pure(cls, data, offset, compact, name)
    try:
        decode = _fast.decode_compact if compact else _fast.decode_binary
        return decode(None, _Source(data, offset), spec)
    except UnicodeDecodeError:
        return _decode_pure(cls, data, offset, compact, name)
    except Exception as e:  # the C extension reports bad input as several exception types
        raise _malformed(name, e) from None


class _ReplacingCompact(TCompactProtocol.TCompactProtocol):  # type: ignore[misc]
    def readString(self) -> str:
        return str(self.readBinary().decode("utf-8", "replace"))


class _ReplacingBinary(TBinaryProtocol.TBinaryProtocol):  # type: ignore[misc]
    def readString(self) -> str:
        return str(self.readBinary().decode("utf-8", "replace"))


def _decode_pure(cls: Any, data: bytes, offset: int, compact: bool, name: str) -> Any:
    """The generated pure-Python reader: without the C extension, or to replace invalid UTF-8."""
    proto_cls = _ReplacingCompact if compact else _ReplacingBinary
    n = len(data)
    proto = proto_cls(TMemoryBuffer(data, offset), string_length_limit=n, container_length_limit=n)
    obj = cls()
    try:
        obj.read(proto)
    except Exception as e:  # RecursionError on absurd nesting and EOFError on truncation included
        raise _malformed(name, e) from None
    return obj


def _malformed(name: str, e: BaseException) -> DecodeError:
    detail = "unexpected end of data" if isinstance(e, EOFError) else getattr(e, "message", None) or str(e)
    return DecodeError(f"{name}: malformed Thrift: {detail or type(e).__name__}")


_light_classes: dict[Any, Any] = {}
_light_specs: dict[Any, list[Any]] = {}


def _light_spec(cls: Any) -> list[Any]:
    """The decode spec of `cls` naming plain attribute classes instead of the generated ones."""
    spec = _light_specs.get(cls)
    if spec is None:
        spec = _light_specs[cls] = _light_args(TType.STRUCT, [cls, None])
    return spec


def _light_args(ttype: int, args: Any) -> Any:
    if ttype == TType.STRUCT:
        gen = args[0]
        if gen not in _light_classes:
            names = [item[2] for item in gen.thrift_spec if item is not None]
            _light_classes[gen] = type(f"Light{gen.__name__}", (), dict.fromkeys(names))
        spec = tuple(i and (i[0], i[1], i[2], _light_args(i[1], i[3]), i[4]) for i in gen.thrift_spec)
        return [_light_classes[gen], spec]
    if ttype == TType.LIST:
        return (args[0], _light_args(args[0], args[1]), args[2])
    return args


def _probe_c_extension() -> tuple[bool, bool]:
    """(use the C extension, use light classes with it).

    Thrift before 0.25 recurses without limit when it skips nested unknown fields: one crafted
    datagram overflows the C stack and kills the process. With such a version the pure-Python
    reader (bounded by Python's recursion limit) takes over. Light classes are used only if this
    version builds structs as expected (thrift before 0.24 passes fields as keyword arguments).
    """
    if _fast is None:
        return False, False
    nested = b"\x59" + b"\x19" * 100 + b"\x09\x00"  # Batch field 5: lists in lists, 101 deep
    try:
        _fast.decode_compact(None, _Source(nested, 0), [_J.Batch, _J.Batch.thrift_spec])
        return False, False
    except TProtocolException:
        pass  # "Maximum recursion depth exceeded": bounded
    except Exception:
        return False, False
    probe = _fast.encode_binary(
        _J.Batch(_J.Process("p", [_J.Tag("k", 0, "v")]), []), [_J.Batch, _J.Batch.thrift_spec]
    )
    try:
        got = _fast.decode_binary(None, _Source(probe, 0), _light_spec(_J.Batch))
        if got.process.tags[0].vStr == "v" and got.spans == [] and got.seqNo is None:
            return True, True
    except Exception:
        pass
    return True, False


_use_fast, _use_light = _probe_c_extension()
if not _use_fast:
    _fast = None
ACCELERATED = _fast is not None
"""False when thrift's C extension is missing or unsafe: decoding is then about 10x slower."""


_UNSET = re.compile(r"Required field (\w+) is unset")


def missing_field(obj: Any, path: str) -> str:
    """Where the first required field that is None lies in a generated struct, as a message."""
    return _search(obj, path, obj.thrift_spec) or f"{path}: cannot convert to spans"


def _search(obj: Any, path: str, spec: Any) -> str:
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


# Field and element types as each protocol writes them (compact: 1 and 2 are bools).
_STRUCT: dict[bool, int] = {False: TType.STRUCT, True: 12}
_LIST: dict[bool, int] = {False: TType.LIST, True: 9}
_I64: dict[bool, int] = {False: TType.I64, True: 6}
_STOP = 0


class StructWalker:
    """Steps through a struct's fields where they lie, decoding the values it is asked for in C
    and reporting where each ended: a list of structs can then be decoded element by element,
    each element's own bytes sliced out as they came.

    Only the framing a caller walks is read in Python (field headers, list headers, i64s); any
    surprise raises `Surprise` and the caller takes the whole-struct path instead. Needs the C
    extension with light classes (`ACCELERATED`)."""

    class Surprise(Exception):
        pass

    def __init__(self, data: bytes, offset: int, compact: bool) -> None:
        if _fast is None or not _use_light:
            raise StructWalker.Surprise("no C extension")
        self.data = data
        self.compact = compact
        self._source = _Source(data, offset)
        self._buffer = self._source.trans._buffer  # the BytesIO the C decoder advances
        self._decode = _fast.decode_compact if compact else _fast.decode_binary
        self._last: list[int] = [0]  # compact: the last field id of each open struct

    @property
    def pos(self) -> int:
        return int(self._buffer.tell())

    def begin_struct(self) -> None:
        self._last.append(0)

    def end_struct(self) -> None:
        self._last.pop()

    def field(self) -> tuple[int, int] | None:
        """The next field's (type, id), or None at the struct's end."""
        data, pos = self.data, self.pos
        try:
            head = data[pos]
            if head == _STOP:
                self._buffer.seek(pos + 1)
                return None
            if self.compact:
                delta = head >> 4
                if delta:
                    fid, pos = self._last[-1] + delta, pos + 1
                else:
                    raw, pos = _varint(data, pos + 1)
                    fid = (raw >> 1) ^ -(raw & 1)
                self._last[-1] = fid
                ttype = head & 0x0F
            else:
                ttype, fid, pos = head, int.from_bytes(data[pos + 1 : pos + 3], "big", signed=True), pos + 3
        except (IndexError, DecodeError):
            raise StructWalker.Surprise("truncated field header") from None
        self._buffer.seek(pos)
        return ttype, fid

    def is_struct(self, ttype: int) -> bool:
        return ttype == _STRUCT[self.compact]

    def is_list(self, ttype: int) -> bool:
        return ttype == _LIST[self.compact]

    def is_i64(self, ttype: int) -> bool:
        return ttype == _I64[self.compact]

    def struct_list(self) -> int:
        """Read a list header of structs; its size."""
        data, pos = self.data, self.pos
        try:
            head = data[pos]
            if self.compact:
                size, etype, pos = head >> 4, head & 0x0F, pos + 1
                if size == 15:
                    size, pos = _varint(data, pos)
            else:
                etype, size, pos = head, int.from_bytes(data[pos + 1 : pos + 5], "big", signed=True), pos + 5
        except (IndexError, DecodeError):
            raise StructWalker.Surprise("truncated list header") from None
        if etype != _STRUCT[self.compact] or not 0 <= size <= len(data) - pos:
            raise StructWalker.Surprise("not a list of structs")
        self._buffer.seek(pos)
        return size

    def skip_i64(self) -> None:
        data, pos = self.data, self.pos
        if self.compact:
            try:
                while data[pos] >= 0x80:
                    pos += 1
            except IndexError:
                raise StructWalker.Surprise("truncated i64") from None
            pos += 1
        else:
            pos += 8
        if pos > len(data):
            raise StructWalker.Surprise("truncated i64")
        self._buffer.seek(pos)

    def struct(self, cls: Any) -> Any:
        """The struct `cls` here, as a light object; the walk goes on after it."""
        if self.pos >= len(self.data):  # the C decoder misreads from a start past the end
            raise StructWalker.Surprise("truncated struct")
        try:
            return self._decode(None, self._source, _light_spec(cls))
        except Exception as e:  # bad input, or invalid UTF-8: the whole-struct path says which
            raise StructWalker.Surprise(str(e)) from None


def encode_light(obj: Any, cls: Any) -> bytes:
    """A decoded (light) struct re-encoded in binary by the generated class `cls`'s spec, in C;
    only with the C extension (`ACCELERATED`)."""
    assert _fast is not None
    return bytes(_fast.encode_binary(obj, [cls, cls.thrift_spec]))


def encode_struct(obj: Any, compact: bool) -> bytes:
    """A generated struct's bytes; ValueError when a value does not fit its Thrift type."""
    try:
        if _fast is not None:
            encode = _fast.encode_compact if compact else _fast.encode_binary
            return bytes(encode(obj, [type(obj), type(obj).thrift_spec]))
        trans = TMemoryBuffer()
        obj.write((TCompactProtocol.TCompactProtocol if compact else TBinaryProtocol.TBinaryProtocol)(trans))
        return bytes(trans.getvalue())
    except (OverflowError, TypeError, struct.error) as e:
        raise ValueError(str(e)) from None
