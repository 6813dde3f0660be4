"""google.rpc.Status bodies for OTLP/HTTP errors, in protobuf or JSON like the request."""

from __future__ import annotations

import orjson

__all__ = ["status_body", "INVALID_ARGUMENT", "UNAVAILABLE", "RESOURCE_EXHAUSTED"]

INVALID_ARGUMENT = 3
RESOURCE_EXHAUSTED = 8
UNAVAILABLE = 14


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def status_body(code: int, message: str, *, json: bool) -> bytes:
    """`Status{code=1, message=2}`; hand-encoded since the message is two scalar fields."""
    if json:
        return orjson.dumps({"code": code, "message": message})
    msg = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(msg)) + msg
