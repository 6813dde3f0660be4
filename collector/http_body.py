"""Reading an HTTP request body with a bound, before and after gzip decompression, and the answer
path the batch endpoints share (Jaeger thrift on 14268, Zipkin on 9411)."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.collector.intake import Intake, QueueFullError
from pyjaeger.http_text import text_response
from pyjaeger.model import Span

__all__ = ["BodyTooLarge", "BadBody", "accept_batch", "read_body"]

log = logging.getLogger(__name__)


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


async def accept_batch(
    request: Request,
    processor: Intake,
    decode: Callable[[bytes], list[Span]],
    fmt: str,
    transport: str,
    max_size: int,
    sender: str,
    wire: str = "",
) -> Response:
    """Read, decode and queue one batch, answering as Jaeger's HTTP batch handlers do: 202 with an
    empty body, 400 `Unable to process request body: ...`, 413 over the size limit, and 503 with
    Retry-After when the queue is full (checked before reading, so a full collector does not
    decode what it must refuse). `sender` names the batch in the 503 text ("Jaeger", "Zipkin").
    A batch of which no span can be stored is a 400 naming why; one with some such spans is
    accepted (these protocols have no partial success), the others counted as rejected. `wire`
    names the format for a storage that takes it straight (`SpanProcessor.stored_decoder`)."""
    stored = processor.stored_decoder(wire) if wire else None
    try:
        processor.check_room(fmt, transport)
        try:
            body = await read_body(request, max_size)
            batch = stored(body) if stored is not None else None
            if batch is not None:
                await processor.accept_stored(batch, fmt, transport)
                return Response(status_code=202)
            spans = decode(body)
        except BodyTooLarge as e:
            return text_response(413, str(e))
        except (BadBody, DecodeError) as e:
            log.debug("%s HTTP bad request: %s", sender, e)
            return text_response(400, f"Unable to process request body: {e}")
        screened = await processor.accept(spans, fmt, transport)
        if screened.rejected and not screened.spans:
            message = rejection_message(screened.rejected, screened.reason)
            return text_response(400, f"Unable to process request body: {message}")
    except QueueFullError as e:
        return text_response(503, f"Cannot submit {sender} batch: {e}", {"Retry-After": "1"})
    return Response(status_code=202)
