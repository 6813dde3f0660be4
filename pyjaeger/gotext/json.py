"""Go's `encoding/json`: the writer (`json.Marshal`) and the errors of `json.Unmarshal`.

Writing: strings escape `"`, `\\`, control characters, the HTML characters `<`, `>`, `&` and
U+2028/U+2029 as Go does (`\\b`, `\\f`, `\\n`, `\\r`, `\\t` in short form since Go 1.22), a lone
surrogate (bytes that were not UTF-8) becomes U+FFFD; floats take the shortest round-trip digits,
plain for 1e-6 <= |f| < 1e21 and in exponent form otherwise (`1e-7`, `1e+21`); bytes are base64.
A map's keys are sorted (Go sorts map keys; a struct keeps its field order: pass a dict in that
order with `sort_keys=False`).

Reading (`loads`): what Go's decoder makes of a body, so every JSON codec stores valid text:
invalid UTF-8 bytes and unpaired surrogate escapes (`"\\udc00"`) become U+FFFD instead of
failing the body (orjson refuses both) or reaching storage as lone surrogates (Python's `json`
keeps them). Python's `json` finds the same syntax errors as Go's scanner at the same place; these
helpers word them as Go does, for the messages Jaeger's query API shows verbatim.
"""

from __future__ import annotations

import base64
import json
import math
import re
from decimal import Decimal
from typing import Any, Literal

import orjson

from pyjaeger.gotext.strconv import quote
from pyjaeger.json_kind import json_kind

__all__ = ["marshal", "marshal_string", "marshal_float", "escape_html", "loads", "unmarshal_string_map"]

# Escaped besides quotes, backslashes and controls: HTML characters and JS line terminators.
_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_BYTES = tuple((raw.encode(), escaped.encode()) for raw, escaped in _HTML_ESCAPES.items())
_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update(
    {
        ord("\b"): "\\b",
        ord("\f"): "\\f",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
    }
)
_ESCAPES.update({ord(raw): escaped for raw, escaped in _HTML_ESCAPES.items()})
_ESCAPES.update({i: "\\ufffd" for i in range(0xD800, 0xE000)})

# How a NaN or infinity is written: "error" as json.Marshal (a ValueError), "proto" as gogo
# jsonpb writes doubles ("NaN", "Infinity", "-Infinity").
NonFinite = Literal["error", "proto"]


def marshal(value: object, *, sort_keys: bool = True, non_finite: NonFinite = "error") -> str:
    """`value` (None, bool, int, float, str, bytes, list, dict with str keys) as Go writes it.

    ValueError for a NaN or infinity (unless `non_finite="proto"`) and for other types."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return marshal_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return marshal_float(value, non_finite)
    if isinstance(value, bytes):
        return '"' + base64.b64encode(value).decode("ascii") + '"'
    if isinstance(value, list):
        return "[" + ",".join([marshal(v, sort_keys=sort_keys, non_finite=non_finite) for v in value]) + "]"
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        return (
            "{"
            + ",".join(
                [
                    marshal_string(k) + ":" + marshal(value[k], sort_keys=sort_keys, non_finite=non_finite)
                    for k in keys
                ]
            )
            + "}"
        )
    raise ValueError(f"json: unsupported type: {type(value).__name__}")


def marshal_string(s: str) -> str:
    return '"' + s.translate(_ESCAPES) + '"'


def marshal_float(f: float, non_finite: NonFinite = "error") -> str:
    if not math.isfinite(f):
        if non_finite == "proto":
            return '"NaN"' if math.isnan(f) else ('"Infinity"' if f > 0 else '"-Infinity"')
        raise ValueError(
            f"json: unsupported value: {'NaN' if math.isnan(f) else ('+Inf' if f > 0 else '-Inf')}"
        )
    text = repr(f)
    magnitude = abs(f)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # repr already uses exponent form throughout this range, padded like Go's strconv;
        # encoding/json then trims a one-digit negative exponent (e-07 → e-7).
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return text
    plain = format(Decimal(text), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain


def escape_html(document: bytes) -> bytes:
    """JSON text from a writer that leaves them alone (orjson) with the HTML characters and line
    terminators escaped as Go escapes them. They occur only inside strings in JSON text, so byte
    replacement is exact."""
    for raw, escaped in _HTML_BYTES:
        if raw in document:
            document = document.replace(raw, escaped)
    return document


# --- Reading ------------------------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")


def loads(data: bytes | str) -> Any:
    """A JSON document as Go's `encoding/json` reads it into `interface{}`: ValueError (with the
    parser's message) when it is not JSON or nests deeper than the parsers allow (orjson 1024,
    Python's recursion limit); NaN and Infinity are not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        first = e
    # Invalid UTF-8, lone surrogates and integers beyond 64 bits are where orjson and Go part;
    # the slow path reads those as Go does. Anything it also refuses keeps orjson's message.
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, _NonFinite):
        raise ValueError(str(first)) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    return _replace_surrogates(doc)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value) if _SURROGATES.search(value) else value
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


# --- Unmarshal errors ---------------------------------------------------------------------------

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _quote_char(c: str) -> str:
    """encoding/json's quoteChar for the offending byte of a syntax error. Go looks at a byte,
    so a non-ASCII character shows as its first UTF-8 byte read as Latin-1."""
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    if c >= "\x80":
        c = chr(c.encode("utf-8", "surrogatepass")[0])
    return "'" + quote(c)[1:-1] + "'"


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


def _syntax_error(e: json.JSONDecodeError) -> str:
    """Go's scanner message for the error Python's json module found at the same place."""
    doc, pos, msg = e.doc, e.pos, e.msg
    if msg.startswith("Unterminated string") or pos >= len(doc):
        return "unexpected end of JSON input"
    if msg.startswith("Invalid \\escape"):
        # Python points at the backslash, Go at the character after it.
        if pos + 1 >= len(doc):
            return "unexpected end of JSON input"
        return f"invalid character {_quote_char(doc[pos + 1])} in string escape code"
    if msg.startswith("Invalid \\uXXXX"):
        for i in range(pos + 2, min(pos + 6, len(doc))):
            if doc[i] not in _HEX_DIGITS:
                return f"invalid character {_quote_char(doc[i])} in \\u hexadecimal character escape"
        return "unexpected end of JSON input"
    ch = _quote_char(doc[pos])
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


def _go_kind(v: object) -> str:
    """encoding/json's name of a JSON type: bool, number, string, array, object."""
    kind = json_kind(v).rpartition(" ")[2]
    return "bool" if kind == "boolean" else kind


def unmarshal_string_map(text: str) -> dict[str, str]:
    """json.Unmarshal into Go's map[string]string: syntax is checked first, then the first type
    mismatch fails the whole call; JSON null (top level or as a value) leaves the zero value."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(_syntax_error(e)) from None
    except RecursionError:
        raise ValueError("exceeded max depth") from None
    except _NonFinite as e:
        # Go stops at the first letter: after a minus sign it wanted a digit.
        name = str(e)
        if name.startswith("-"):
            raise ValueError("invalid character 'I' in numeric literal") from None
        raise ValueError(f"invalid character '{name[0]}' looking for beginning of value") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"json: cannot unmarshal {_go_kind(value)} into Go value of type map[string]string")
    out: dict[str, str] = {}
    for k, v in value.items():
        if v is None:
            v = ""
        elif not isinstance(v, str):
            raise ValueError(f"json: cannot unmarshal {_go_kind(v)} into Go value of type string")
        # Go decodes unpaired \uD800-style escapes to U+FFFD; Python keeps lone surrogates.
        out[_SURROGATES.sub("\ufffd", k)] = _SURROGATES.sub("\ufffd", v)
    return out
