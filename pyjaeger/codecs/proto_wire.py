"""Where a repeated message field's elements lie in protobuf bytes, without parsing them.

The memory store keeps each OTLP span as its own bytes (`storage/memory/wire.py`); upb parses
the request for the fields it indexes, and these ranges let it slice each span out of the
request rather than serialize it again. Only the framing is read (tags and lengths), so the
walk costs a few steps per element whatever the element holds.
"""

from __future__ import annotations

__all__ = ["message_fields", "nested_fields"]

_LEN, _VARINT, _I64, _I32 = 2, 0, 1, 5


def message_fields(data: bytes, start: int, end: int, field: int) -> list[tuple[int, int, int]] | None:
    """(tag start, value start, value end) of every length-delimited `field` in the message
    `data[start:end]`, in order; None when the framing is not well-formed protobuf (the caller
    then leaves this to the parser)."""
    out: list[tuple[int, int, int]] = []
    pos = start
    try:
        while pos < end:
            at = pos
            tag = data[pos]
            pos += 1
            if tag >= 0x80:
                tag, pos = _varint(data, at)
            wire = tag & 7
            if wire == _LEN:
                size = data[pos]
                pos += 1
                if size >= 0x80:
                    size, pos = _varint(data, pos - 1)
                value = pos
                pos += size
                if tag >> 3 == field:
                    out.append((at, value, pos))
            elif wire == _VARINT:
                while data[pos] >= 0x80:
                    pos += 1
                pos += 1
            elif wire == _I64:
                pos += 8
            elif wire == _I32:
                pos += 4
            else:  # groups: not in OTLP
                return None
    except IndexError:
        return None
    return out if pos == end else None


def nested_fields(data: bytes, path: tuple[int, ...]) -> list[object] | None:
    """The `message_fields` ranges of the field path `path` through nested repeated messages:
    for path (1, 2, 2), a list per field-1 element of a list per field-2 element of the
    (tag start, value end) ranges of its field-2 elements. None when the framing is not
    well-formed."""
    return _nested(data, 0, len(data), path)


def _nested(data: bytes, start: int, end: int, path: tuple[int, ...]) -> list[object] | None:
    found = message_fields(data, start, end, path[0])
    if found is None:
        return None
    if len(path) == 1:
        return [(at, stop) for at, _, stop in found]
    out: list[object] = []
    for _, value, stop in found:
        inner = _nested(data, value, stop, path[1:])
        if inner is None:
            return None
        out.append(inner)
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint longer than 10 bytes")
