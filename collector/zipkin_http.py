"""Zipkin receiver (9411): `POST /api/v2/spans` (JSON, proto3) and `POST /api/v1/spans` (JSON, thrift).

Answers follow Jaeger's Zipkin handler: 202 with an empty body on success, 400 `Unsupported
Content-Type: ...` / `Unable to process request body: ...` as plain text. A missing Content-Type is
JSON, as Zipkin's own server assumes. Body limits and gzip/deflate are those of every collector
HTTP receiver (413 past the limit, decompressed size included); a full queue answers 503 with
Retry-After like the Jaeger thrift endpoint, so senders retry instead of losing the batch.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyjaeger.codecs.zipkin_model import ZipkinSpan
from pyjaeger.codecs.zipkin_translate import zipkin_to_spans
from pyjaeger.codecs.zipkin_v1_json import decode_v1_json
from pyjaeger.codecs.zipkin_v1_thrift import decode_v1_thrift
from pyjaeger.codecs.zipkin_v2 import decode_v2_json, decode_v2_proto
from pyjaeger.collector.http_body import accept_batch
from pyjaeger.collector.intake import Intake
from pyjaeger.http_text import text_response
from pyjaeger.model import Span

__all__ = ["zipkin_http_app", "cors_origins"]

FORMAT = "zipkin"  # the `format` label of every collector metric, whatever the Zipkin encoding
TRANSPORT = "http"
JSON = "application/json"

Decoder = Callable[[bytes], list[ZipkinSpan]]

_V1: dict[str, Decoder] = {JSON: decode_v1_json, "application/x-thrift": decode_v1_thrift}
_V2: dict[str, Decoder] = {JSON: decode_v2_json, "application/x-protobuf": decode_v2_proto}


def cors_origins(allowed: Sequence[str]) -> tuple[list[str], str | None]:
    """Jaeger's allowed-origins list as CORSMiddleware arguments: exact origins, plus one regex
    for the `http://*.example.com` patterns Jaeger (rs/cors) accepts. A lone `*` allows any."""
    exact = [o for o in allowed if o == "*" or "*" not in o]
    patterns = [re.escape(o).replace(r"\*", "[^/]*") for o in allowed if o != "*" and "*" in o]
    return exact, "|".join(patterns) or None


class _CloseConnection:
    """`--collector.zipkin.keep-alive=false`: every answer carries `Connection: close`, which
    uvicorn honours by closing the socket once the response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


def zipkin_http_app(
    processor: Intake,
    max_request_size: int,
    *,
    allowed_origins: Sequence[str] = ("*",),
    allowed_headers: Sequence[str] = ("content-type",),
    keep_alive: bool = True,
) -> Starlette:
    def endpoint(decoders: dict[str, Decoder]) -> Callable[[Request], Awaitable[Response]]:
        async def spans(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            media = content_type.split(";", 1)[0].strip().lower() or JSON
            decode = decoders.get(media)
            if decode is None:
                return text_response(
                    400, f"Unsupported Content-Type: {content_type} (use one of: {', '.join(decoders)})"
                )

            def to_spans(body: bytes) -> list[Span]:
                return zipkin_to_spans(decode(body))

            return await accept_batch(
                request, processor, to_spans, FORMAT, TRANSPORT, max_request_size, "Zipkin"
            )

        return spans

    exact, regex = cors_origins(allowed_origins)
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=exact,
            allow_origin_regex=regex,
            allow_methods=["POST"],
            allow_headers=list(allowed_headers),
        )
    ]
    if not keep_alive:
        middleware.insert(0, Middleware(_CloseConnection))
    return Starlette(
        routes=[
            Route("/api/v1/spans", endpoint(_V1), methods=["POST"]),
            Route("/api/v2/spans", endpoint(_V2), methods=["POST"]),
        ],
        middleware=middleware,
    )
