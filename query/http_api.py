"""Jaeger's query HTTP JSON API (`/api/...` on 16686), the one the Jaeger UI and Grafana call.

Routes are thin: parse parameters (`pyjaeger.query.params`), ask the query service, render
(`pyjaeger.codecs.query_json`). Errors use Jaeger's envelope with its status codes and texts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from pyjaeger.codecs.query_json import dumps, envelope, error_body, trace_to_dict
from pyjaeger.http_metrics import instrument
from pyjaeger.metrics import HttpServerMetrics
from pyjaeger.model import trace_id_to_hex
from pyjaeger.query.params import (
    ParamError,
    parse_dependencies,
    parse_get_trace,
    parse_operations,
    parse_search,
    parse_trace_id,
    pretty_print,
)
from pyjaeger.query.service import QueryService

__all__ = ["query_app"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def _json(obj: Any, request: Request) -> Response:
    return Response(
        dumps(obj, pretty_print(request.query_params.multi_items())), media_type="application/json"
    )


def _error(status: int, msg: str) -> Response:
    return Response(
        error_body(status, msg),
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ParamError as e:
            return _error(400, str(e))
        except Exception as e:
            log.exception("query API %s failed", request.url.path)
            return _error(500, str(e) or type(e).__name__)

    return run


def query_app(
    service: QueryService, base_path: str = "/", http_metrics: HttpServerMetrics | None = None
) -> Starlette:
    def now_us() -> int:
        return time.time_ns() // 1000

    async def services(request: Request) -> Response:
        names = await service.get_services()
        return _json(envelope(names, total=len(names)), request)

    async def service_operations(request: Request) -> Response:
        ops = await service.get_operations(request.path_params["service"])
        names = list(dict.fromkeys(op.name for op in ops))
        return _json(envelope(names, total=len(names)), request)

    async def operations(request: Request) -> Response:
        svc, kind = parse_operations(request.query_params.multi_items())
        ops = await service.get_operations(svc, kind)
        data = [{"name": op.name, "spanKind": op.span_kind} for op in ops]
        return _json(envelope(data, total=len(data)), request)

    async def search(request: Request) -> Response:
        s = parse_search(request.query_params.multi_items(), now_us())
        if s.trace_ids:
            data, errors = [], []
            for tid in s.trace_ids:
                trace = await service.get_trace(tid, s.raw)
                if trace is None:
                    errors.append({"msg": "trace not found", "traceID": trace_id_to_hex(tid)})
                else:
                    data.append(trace_to_dict(trace))
            return _json(envelope(data, errors=errors or None), request)
        traces = await service.find_traces(s.query, s.raw)
        return _json(envelope([trace_to_dict(t) for t in traces]), request)

    async def trace(request: Request) -> Response:
        tid = parse_trace_id(request.path_params["traceID"])
        _, _, raw = parse_get_trace(request.query_params.multi_items())  # start/end: hints memory ignores
        found = await service.get_trace(tid, raw)
        if found is None:
            return _error(404, "trace not found")
        return _json(envelope([trace_to_dict(found)]), request)

    async def dependencies(request: Request) -> Response:
        end_ts, lookback = parse_dependencies(request.query_params.multi_items(), time.time_ns() // 1_000_000)
        links = await service.get_dependencies(end_ts, lookback)
        data = [{"parent": d.parent, "child": d.child, "callCount": d.call_count} for d in links]
        return _json(envelope(data), request)

    async def not_found(request: Request) -> Response:
        return _error(404, f"404 page not found: {request.url.path}")

    api = [
        Route("/services", _guarded(services)),
        Route("/services/{service:path}/operations", _guarded(service_operations)),
        Route("/operations", _guarded(operations)),
        Route("/traces", _guarded(search)),
        # Jaeger's parameter name: the route template is the `http_route` metric label.
        Route("/traces/{traceID}", _guarded(trace)),
        Route("/dependencies", _guarded(dependencies)),
        Route("/{rest:path}", not_found),
    ]
    prefix = "" if base_path == "/" else base_path
    app = Starlette(routes=[Mount(f"{prefix}/api", routes=api)])
    if http_metrics is not None:
        instrument(app, http_metrics, "query", base_path)
    return app
