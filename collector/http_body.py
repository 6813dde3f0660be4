"""The answer path the batch endpoints share (Jaeger thrift on 14268, Zipkin on 9411)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.collector.intake import Intake, QueueFullError
from pyjaeger.http_body import BadBody, BodyTooLarge, read_body
from pyjaeger.http_text import text_response
from pyjaeger.model import Span

__all__ = ["accept_batch"]

log = logging.getLogger(__name__)


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
