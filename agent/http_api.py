"""The agent's HTTP server on 5778: sampling strategies (and baggage restrictions) for clients.

`/sampling` answers in proto-JSON (string strategy type); `/` is the legacy endpoint that old
thrift clients read, with the strategy type as an integer.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyjaeger.agent.sampling_proxy import StrategySource
from pyjaeger.http_metrics import instrument
from pyjaeger.http_text import text_response
from pyjaeger.metrics import HttpServerMetrics
from pyjaeger.sampling.http import SERVICE_ONCE, service_param
from pyjaeger.sampling.json import to_legacy_json, to_proto_json

__all__ = ["agent_http_app"]

log = logging.getLogger(__name__)


def agent_http_app(source: StrategySource, http_metrics: HttpServerMetrics | None = None) -> Starlette:
    async def strategy(request: Request, legacy: bool) -> Response:
        service = service_param(request)
        if service is None:
            return text_response(400, SERVICE_ONCE)
        try:
            s = await source.get(service)
        except Exception as e:
            log.warning("sampling strategy for %r: %s", service, e)
            return text_response(500, f"collector error: {e}")
        try:
            body = to_legacy_json(s) if legacy else to_proto_json(s)
        except ValueError as e:
            # e.g. a rate limit beyond the legacy thrift field's i16 range
            return text_response(500, f"cannot marshall to JSON: {e}")
        return Response(body, media_type="application/json")

    async def sampling(request: Request) -> Response:
        return await strategy(request, legacy=False)

    async def legacy(request: Request) -> Response:
        return await strategy(request, legacy=True)

    async def baggage(request: Request) -> Response:
        if service_param(request) is None:
            return text_response(400, SERVICE_ONCE)
        # No baggage restrictions are configured: clients then allow every key.
        return Response(b"[]", media_type="application/json")

    app = Starlette(
        routes=[Route("/sampling", sampling), Route("/baggageRestrictions", baggage), Route("/", legacy)]
    )
    if http_metrics is not None:
        instrument(app, http_metrics, "agent")
    return app
