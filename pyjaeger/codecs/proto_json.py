"""Readers for protobuf's JSON mapping, as OTLP/JSON uses it: each takes one decoded JSON value,
checks its shape and returns it as Python, or raises `Invalid` naming where it is.

Absent and null mean the field's zero value; 64-bit integers may be numbers or decimal strings,
doubles may be "NaN"/"Infinity"/"-Infinity", bytes are standard or URL-safe base64, and field
names may be written in snake_case (`_camel` rewrites them), as protobuf's own parsers allow.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

__all__ = [
    "Invalid",
    "camel",
    "json_object",
    "json_array",
    "json_string",
    "hex_id",
    "json_int",
    "json_enum",
    "json_double",
    "json_base64",
    "describe",
]

_HEX_DIGITS = "0123456789abcdefABCDEF"


class Invalid(Exception):
    """Broken structure at `path` (relative to the object being decoded when raised)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def under(self, prefix: str) -> Invalid:
        if not self.path:
            return Invalid(prefix, self.reason)
        sep = "" if self.path.startswith("[") else "."
        return Invalid(f"{prefix}{sep}{self.path}", self.reason)


def camel(d: dict[str, Any]) -> dict[str, Any]:
    """`d` with snake_case field names rewritten to lowerCamelCase (usually `d` itself)."""
    for key in d:
        if "_" in key:
            return {_to_camel(k): v for k, v in d.items()}
    return d


def _to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def json_object(x: object, path: str) -> dict[str, Any]:
    if type(x) is dict:
        return camel(x)
    if x is None:
        return {}
    raise Invalid(path, f"expected an object, got {describe(x)}")


def json_array(x: object, path: str) -> list[Any]:
    if type(x) is list:
        return x
    if x is None:
        return []
    raise Invalid(path, f"expected a list, got {describe(x)}")


def json_string(x: object, path: str) -> str:
    if type(x) is str:
        return x
    if x is None:
        return ""
    raise Invalid(path, f"expected a string, got {describe(x)}")


def hex_id(x: object, path: str) -> str:
    """A hex id string ("" when absent); its length is the caller's business."""
    if type(x) is str:
        if x.strip(_HEX_DIGITS):
            raise Invalid(path, f"not a hex string: {x[:40]!r}")
        return x
    if x is None:
        return ""
    raise Invalid(path, f"expected a hex string, got {describe(x)}")


def json_int(x: object, path: str, lo: int, hi: int) -> int:
    if type(x) is int:
        v = x
    elif type(x) is str and x.isascii() and (x.isdigit() or (x[:1] == "-" and x[1:].isdigit())):
        v = int(x)
    elif type(x) is float and x.is_integer():
        v = int(x)
    elif x is None:
        return 0
    else:
        raise Invalid(path, f"expected an integer, got {describe(x)}")
    if not lo <= v <= hi:
        raise Invalid(path, f"integer {v} out of range")
    return v


def json_enum(x: object, path: str, names: dict[str, int]) -> int:
    if type(x) is int:
        return x
    if type(x) is str and x in names:
        return names[x]
    if x is None:
        return 0
    raise Invalid(path, f"expected an enum number, got {describe(x)}")


def json_double(x: object, path: str) -> float:
    if type(x) is float or type(x) is int:
        return float(x)
    if type(x) is str:
        special = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
        if x in special:
            return special[x]
        # float() also takes "inf", "nan", "1_0" and padding, which JSON numbers do not allow.
        if x and x.isascii() and "_" not in x and x.strip() == x and "n" not in x.lower():
            try:
                return float(x)
            except ValueError:
                pass
    raise Invalid(path, f"expected a number, got {describe(x)}")


def json_base64(x: object, path: str) -> bytes:
    s = json_string(x, path)
    # Protobuf's JSON mapping accepts standard and URL-safe alphabets, padded or not.
    s = s.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(path, "not valid base64") from None


def describe(x: object) -> str:
    if isinstance(x, str):
        return f"string {x[:40]!r}"
    return {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}.get(
        type(x), type(x).__name__
    )
