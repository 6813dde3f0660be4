"""Reading an HTTP request body with a bound, before and after gzip or deflate decompression:
what every server taking bodies (the collector's receivers, the query API's upload) shares."""

from __future__ import annotations

import zlib

from starlette.requests import Request

__all__ = ["BodyTooLarge", "BadBody", "read_body"]


class BodyTooLarge(Exception):
    """The body (or what it decompresses to) is over the limit: answer 413."""


class BadBody(Exception):
    """The body cannot be read as declared (e.g. broken gzip): answer 400."""


async def read_body(request: Request, max_size: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `max_size` bytes.

    Content-Length is checked before anything is read; a chunked body is counted as it streams;
    gzip and deflate are inflated with the same bound, so a small bomb cannot expand in memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_size:
                raise BodyTooLarge(f"request body of {declared} bytes exceeds the limit of {max_size} bytes")
        except ValueError:
            raise BadBody(f"invalid Content-Length {declared!r}") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_size:
            raise BodyTooLarge(f"request body exceeds the limit of {max_size} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, zlib.MAX_WBITS | 16, max_size, "gzip")
    if encoding in ("deflate", "zlib"):
        return _inflate(body, zlib.MAX_WBITS, max_size, encoding)
    raise BadBody(f"unsupported Content-Encoding {encoding!r}")


def _inflate(body: bytes, wbits: int, max_size: int, name: str) -> bytes:
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, max_size + 1)
    except zlib.error as e:
        raise BadBody(f"invalid {name} body: {e}") from None
    if len(out) > max_size:
        raise BodyTooLarge(f"decompressed request body exceeds the limit of {max_size} bytes")
    if not d.eof:
        raise BadBody(f"invalid {name} body: truncated stream")
    return out
