"""Go's `strconv` (and `encoding/hex`): strict parsers with Go's error text, `Quote`, `%g`.

Python's `int()`, `float()` and `bytes.fromhex()` accept whitespace, underscores and non-ASCII
digits, which Go's parsers refuse; these accept exactly what Go accepts, and their `ValueError`
carries the message Go's `NumError` prints (`strconv.ParseInt: parsing "x": invalid syntax`).
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "quote",
    "parse_bool",
    "parse_int",
    "parse_hex_uint64",
    "parse_float",
    "decode_hex",
    "format_g",
    "format_value",
]

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_FLOAT_RE = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")
_FLOAT_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_FLOAT_SPECIAL.update({"infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf})
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")


def quote(s: str) -> str:
    """`strconv.Quote`. Python's isprintable() uses the same categories as Go's IsPrint
    (letters, marks, numbers, punctuation, symbols and the ASCII space). Lone surrogates stand
    for undecodable bytes and come out as `\\xNN` like invalid UTF-8 in Go."""
    out = ['"']
    for c in s:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            o = ord(c)
            if 0xDC80 <= o <= 0xDCFF:  # surrogateescape'd byte
                out.append(f"\\x{o - 0xDC00:02x}")
            elif c in _ESCAPES:
                out.append(_ESCAPES[c])
            elif o < 0x80:
                out.append(f"\\x{o:02x}")
            elif o < 0x10000:
                out.append(f"\\u{o:04x}")
            else:
                out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _syntax(fn: str, s: str) -> ValueError:
    return ValueError(f"strconv.{fn}: parsing {quote(s)}: invalid syntax")


def _range(fn: str, s: str) -> ValueError:
    return ValueError(f"strconv.{fn}: parsing {quote(s)}: value out of range")


def parse_bool(s: str) -> bool:
    """`strconv.ParseBool`: 1, t, T, TRUE, true, True and their false forms, nothing else."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise _syntax("ParseBool", s)


def parse_int(s: str, bit_size: int = 64) -> int:
    """`strconv.ParseInt(s, 10, bit_size)`: ASCII digits with an optional sign, no spaces or
    underscores; overflow is reported as soon as it happens, before later characters are seen."""
    body = s
    neg = False
    if body[:1] in ("+", "-"):
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        raise _syntax("ParseInt", s)
    max_uint = (1 << bit_size) - 1
    n = 0
    for c in body:
        if not "0" <= c <= "9":
            raise _syntax("ParseInt", s)
        n = n * 10 + (ord(c) - 48)
        if n > max_uint:
            raise _range("ParseInt", s)
    cutoff = 1 << (bit_size - 1)
    if (not neg and n >= cutoff) or (neg and n > cutoff):
        raise _range("ParseInt", s)
    return -n if neg else n


def parse_hex_uint64(s: str) -> int:
    """`strconv.ParseUint(s, 16, 64)` for at most 16 characters (so it cannot overflow)."""
    if not s or not all(c in _HEX_DIGITS for c in s):
        raise _syntax("ParseUint", s)
    return int(s, 16)


def parse_float(s: str) -> float:
    """`strconv.ParseFloat(s, 64)`: decimal and hex floats, inf/infinity/nan in any case."""
    special = _FLOAT_SPECIAL.get(s.lower())
    if special is not None:
        return special
    if _FLOAT_RE.match(s):
        f = float(s)
    elif _HEX_FLOAT_RE.match(s):
        f = float.fromhex(s)
    else:
        raise _syntax("ParseFloat", s)
    if math.isinf(f):
        raise _range("ParseFloat", s)
    return f


def decode_hex(s: str) -> bytes:
    """`hex.DecodeString`, with its error text."""
    if len(s) % 2:
        raise ValueError("encoding/hex: odd length hex string")
    if not _HEX_RE.match(s):
        raise ValueError("encoding/hex: invalid byte in hex string")
    return bytes.fromhex(s)


def format_g(f: float, precision: int) -> str:
    """`strconv.FormatFloat(f, 'g', precision, 64)`: trailing zeros dropped (as Python's %g),
    a two-digit exponent at least, and Go's +Inf, -Inf and NaN."""
    if f != f:
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    s = "%.*g" % (precision, f)
    if "e" in s:
        mant, exp = s.split("e")
        digits = exp[1:].lstrip("0").rjust(2, "0")
        s = f"{mant}e{exp[0]}{digits}"
    return s


def format_value(v: Any) -> str:
    """Roughly `fmt.Sprintf("%+v", v)` of a value `encoding/json` decoded into `interface{}`."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    if isinstance(v, list):
        return "[" + " ".join(format_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{format_value(v[k])}" for k in sorted(v)) + "]"
    return str(v)
