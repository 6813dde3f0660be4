"""The collector's HTTP server on 14268: Jaeger thrift `POST /api/traces`, `GET /api/sampling`.

Status codes and texts are Jaeger's (`http.Error` plain text): 202 on success, 400
`Unsupported content type: ...` / `Unable to process request body: ...`; a full queue answers
503 with Retry-After, which clients retry (Jaeger drops the batch silently there).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.jaeger_thrift import decode_batch
from pyjaeger.collector.http_body import BadBody, BodyTooLarge, read_body
from pyjaeger.collector.processor import QueueFullError, SpanProcessor
from pyjaeger.sampling.http import SERVICE_ONCE, service_param
from pyjaeger.sampling.json import to_proto_json
from pyjaeger.sampling.provider import StrategyProvider

__all__ = ["thrift_http_app", "THRIFT_MEDIA_TYPES"]

log = logging.getLogger(__name__)

THRIFT_MEDIA_TYPES = ("application/x-thrift", "application/vnd.apache.thrift.binary")


def _text(status: int, msg: str, headers: dict[str, str] | None = None) -> Response:
    return Response(msg + "\n", status, headers, media_type="text/plain; charset=utf-8")


def thrift_http_app(processor: SpanProcessor, provider: StrategyProvider, max_request_size: int) -> Starlette:
    async def traces(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if not media:
            return _text(400, "Cannot parse content type: mime: no media type")
        if media not in THRIFT_MEDIA_TYPES:
            return _text(400, f"Unsupported content type: {content_type}")
        try:
            processor.check_room("jaeger", "http")
        except QueueFullError as e:
            return _text(503, f"Cannot submit Jaeger batch: {e}", {"Retry-After": "1"})
        try:
            body = await read_body(request, max_request_size)
            spans = decode_batch(body)
        except BodyTooLarge as e:
            return _text(413, str(e))
        except (BadBody, DecodeError) as e:
            log.debug("thrift HTTP bad request: %s", e)
            return _text(400, f"Unable to process request body: {e}")
        try:
            processor.submit(spans, "jaeger", "http")
        except QueueFullError as e:
            return _text(503, f"Cannot submit Jaeger batch: {e}", {"Retry-After": "1"})
        return Response(status_code=202)

    async def sampling(request: Request) -> Response:
        service = service_param(request)
        if service is None:
            return _text(400, SERVICE_ONCE)
        return Response(to_proto_json(provider.get(service)), media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/traces", traces, methods=["POST"]),
            Route("/api/sampling", sampling, methods=["GET"]),
        ]
    )
