"""How error messages name a decoded JSON value's type: "expected an object, got a string"."""

from __future__ import annotations

__all__ = ["json_kind"]


def json_kind(value: object) -> str:
    """The JSON type of a value `json.loads`/`orjson.loads` produced, with its article."""
    if value is None:
        return "null"
    # bool before int: True is an int to Python.
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
