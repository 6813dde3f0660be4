"""Go's wording, for errors the query API must word exactly as Jaeger does.

The Jaeger UI shows a 400's message verbatim, and Jaeger's messages embed the text of Go's
strconv and encoding/json errors; these helpers reproduce that text.
"""

from __future__ import annotations

import json
import re

__all__ = ["go_quote", "go_parse_int", "go_parse_hex_uint64", "unmarshal_string_map"]

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SURROGATES = re.compile("[\ud800-\udfff]")


def go_quote(s: str) -> str:
    """Go's strconv.Quote. Python's isprintable() uses the same categories as Go's IsPrint
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
            elif c in _GO_ESCAPES:
                out.append(_GO_ESCAPES[c])
            elif o < 0x80:
                out.append(f"\\x{o:02x}")
            elif o < 0x10000:
                out.append(f"\\u{o:04x}")
            else:
                out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def go_parse_int(s: str, bit_size: int) -> int:
    """strconv.ParseInt(s, 10, bit_size): strict ASCII digits with an optional sign, no spaces
    or underscores (unlike Python's int()), Go's error text on failure."""

    def err(kind: str) -> ValueError:
        return ValueError(f"strconv.ParseInt: parsing {go_quote(s)}: {kind}")

    body = s
    neg = False
    if body[:1] in ("+", "-"):
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        raise err("invalid syntax")
    max_uint = (1 << bit_size) - 1
    n = 0
    for c in body:
        if not "0" <= c <= "9":
            raise err("invalid syntax")
        n = n * 10 + (ord(c) - 48)
        # Go reports overflow as soon as it happens, before looking at later characters.
        if n > max_uint:
            raise err("value out of range")
    cutoff = 1 << (bit_size - 1)
    if (not neg and n >= cutoff) or (neg and n > cutoff):
        raise err("value out of range")
    return -n if neg else n


def go_parse_hex_uint64(s: str) -> int:
    """strconv.ParseUint(s, 16, 64) for at most 16 characters (so it cannot overflow)."""
    if not s or not all(c in _HEX_DIGITS for c in s):
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(s)}: invalid syntax")
    return int(s, 16)


def _go_quote_char(c: str) -> str:
    """encoding/json's quoteChar for the offending byte of a syntax error. Go looks at a byte,
    so a non-ASCII character shows as its first UTF-8 byte read as Latin-1."""
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    if c >= "\x80":
        c = chr(c.encode("utf-8", "surrogatepass")[0])
    return "'" + go_quote(c)[1:-1] + "'"


def _innermost_container(doc: str, pos: int) -> str:
    """'{' or '[' open at `pos` (strings skipped), to pick Go's wording for a missing comma."""
    stack: list[str] = []
    in_str = esc = False
    for c in doc[:pos]:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _go_json_syntax_error(e: json.JSONDecodeError) -> str:
    """Go's scanner message for the error Python's json module found at the same place."""
    doc, pos, msg = e.doc, e.pos, e.msg
    if msg.startswith("Unterminated string") or pos >= len(doc):
        return "unexpected end of JSON input"
    if msg.startswith("Invalid \\escape"):
        # Python points at the backslash, Go at the character after it.
        if pos + 1 >= len(doc):
            return "unexpected end of JSON input"
        return f"invalid character {_go_quote_char(doc[pos + 1])} in string escape code"
    if msg.startswith("Invalid \\uXXXX"):
        for i in range(pos + 2, min(pos + 6, len(doc))):
            if doc[i] not in _HEX_DIGITS:
                return f"invalid character {_go_quote_char(doc[i])} in \\u hexadecimal character escape"
        return "unexpected end of JSON input"
    ch = _go_quote_char(doc[pos])
    if msg.startswith("Invalid control character"):
        return f"invalid character {ch} in string literal"
    if msg.startswith("Expecting property name"):
        return f"invalid character {ch} looking for beginning of object key string"
    if msg.startswith("Expecting ':'"):
        return f"invalid character {ch} after object key"
    if msg.startswith("Expecting ','"):
        if _innermost_container(doc, pos) == "[":
            return f"invalid character {ch} after array element"
        return f"invalid character {ch} after object key:value pair"
    if msg.startswith("Extra data"):
        return f"invalid character {ch} after top-level value"
    return f"invalid character {ch} looking for beginning of value"


class _NonFinite(Exception):
    pass


def _reject_constant(name: str) -> object:
    # Python accepts NaN/Infinity, Go's scanner does not.
    raise _NonFinite(name)


def _go_json_kind(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def unmarshal_string_map(text: str) -> dict[str, str]:
    """json.Unmarshal into Go's map[string]string: syntax is checked first, then the first type
    mismatch fails the whole call; JSON null (top level or as a value) leaves the zero value."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(_go_json_syntax_error(e)) from None
    except _NonFinite as e:
        # Go stops at the first letter: after a minus sign it wanted a digit.
        name = str(e)
        if name.startswith("-"):
            raise ValueError("invalid character 'I' in numeric literal") from None
        raise ValueError(f"invalid character '{name[0]}' looking for beginning of value") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            f"json: cannot unmarshal {_go_json_kind(value)} into Go value of type map[string]string"
        )
    out: dict[str, str] = {}
    for k, v in value.items():
        if v is None:
            v = ""
        elif not isinstance(v, str):
            raise ValueError(f"json: cannot unmarshal {_go_json_kind(v)} into Go value of type string")
        # Go decodes unpaired \uD800-style escapes to U+FFFD; Python keeps lone surrogates.
        out[_SURROGATES.sub("\ufffd", k)] = _SURROGATES.sub("\ufffd", v)
    return out
