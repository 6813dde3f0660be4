"""OTLP/HTTP receiver: `POST /v1/traces`, protobuf or JSON, optionally gzip-compressed."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.collector.intake import QueueFullError
from pyjaeger.collector.otlp import OTLPIngest
from pyjaeger.collector.rpc_status import INVALID_ARGUMENT, UNAVAILABLE, status_body
from pyjaeger.http_body import BadBody, BodyTooLarge, read_body
from pyjaeger.http_text import text_response

__all__ = ["otlp_http_app"]

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def otlp_http_app(ingest: OTLPIngest, max_request_size: int) -> Starlette:
    async def traces(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media not in (PROTOBUF, JSON):
            return text_response(415, f"unsupported content type {media!r}: use {PROTOBUF} or {JSON}")
        is_json = media == JSON

        def error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> Response:
            headers = {"X-Content-Type-Options": "nosniff", **(headers or {})}
            return Response(status_body(code, msg, json=is_json), status, headers, media_type=media)

        try:
            body = await read_body(request, max_request_size)
            return Response(await ingest.export(body, json=is_json, transport="http"), media_type=media)
        except BodyTooLarge as e:
            return error(413, INVALID_ARGUMENT, str(e))
        except (BadBody, DecodeError) as e:
            log.debug("OTLP/HTTP bad request: %s", e)
            return error(400, INVALID_ARGUMENT, str(e))
        except QueueFullError as e:
            return error(503, UNAVAILABLE, str(e), {"Retry-After": "1"})

    return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
