"""The one exception every codec raises on bytes it cannot decode.

Receivers map it to HTTP 400 / gRPC INVALID_ARGUMENT. Content that decodes but is odd (a span
with a zero id, a missing service name) is not an error: codecs count, warn or sanitize instead.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError as _ProtoDecodeError
from google.protobuf.message import Message

__all__ = ["DecodeError", "parse_protobuf"]

M = TypeVar("M", bound=Message)


class DecodeError(ValueError):
    """The payload is not a well-formed message; the text names the field, offset and reason."""


def parse_protobuf(message: M, data: bytes, name: str = "") -> M:
    """`message` filled from `data`; a DecodeError naming the message (or `name`) when protobuf
    cannot parse them."""
    try:
        message.ParseFromString(data)
    except _ProtoDecodeError as e:
        raise DecodeError(f"{name or type(message).__name__}: {e}") from None
    return message
