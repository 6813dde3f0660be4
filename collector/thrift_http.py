"""The collector's HTTP server on 14268: Jaeger thrift `POST /api/traces`, `GET /api/sampling`.

Status codes and texts are Jaeger's (`http.Error` plain text): 202 on success, 400
`Unsupported content type: ...` / `Unable to process request body: ...`; a full queue answers
503 with Retry-After, which clients retry (Jaeger drops the batch silently there).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyjaeger.codecs.jaeger_thrift import decode_batch
from pyjaeger.collector.http_body import accept_batch
from pyjaeger.collector.intake import Intake
from pyjaeger.http_text import text_response
from pyjaeger.sampling.http import SERVICE_ONCE, service_param
from pyjaeger.sampling.json import to_proto_json
from pyjaeger.sampling.provider import StrategyProvider

__all__ = ["thrift_http_app", "THRIFT_MEDIA_TYPES"]

THRIFT_MEDIA_TYPES = ("application/x-thrift", "application/vnd.apache.thrift.binary")


def thrift_http_app(processor: Intake, provider: StrategyProvider, max_request_size: int) -> Starlette:
    async def traces(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if not media:
            return text_response(400, "Cannot parse content type: mime: no media type")
        if media not in THRIFT_MEDIA_TYPES:
            return text_response(400, f"Unsupported content type: {content_type}")
        return await accept_batch(
            request, processor, decode_batch, "jaeger", "http", max_request_size, "Jaeger", "thrift-batch"
        )

    async def sampling(request: Request) -> Response:
        service = service_param(request)
        if service is None:
            return text_response(400, SERVICE_ONCE)
        return Response(to_proto_json(provider.get(service)), media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/traces", traces, methods=["POST"]),
            Route("/api/sampling", sampling, methods=["GET"]),
        ]
    )
