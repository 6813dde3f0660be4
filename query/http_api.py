"""Jaeger's query HTTP JSON API (`/api/...` on 16686), the one the Jaeger UI and Grafana call.

Routes are thin: parse parameters (`pyjaeger.query.params`), ask the query service, render
(`pyjaeger.codecs.query_json`). Errors use Jaeger's envelope with its status codes and texts.

Besides the search API, what the UIs also call, as Jaeger v2.20 answers it:
- `POST /api/transform`: an OTLP/JSON body (the UI's "upload a file") back as UI trace JSON,
  one trace per trace id in order of first appearance, without the query-time adjusters.
- `GET /api/metrics/{latencies,calls,errors}`: parameters checked as Jaeger checks them (400),
  then 501, since there is no metrics store; `minstep` (gone from Jaeger after v2.17) answers 501.
With `--query.static-files`, a UI build is served below the base path (`static_ui`), after the
API routes so that an unknown `/api` path stays a JSON 404.
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

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.otlp_json import decode_export_json
from pyjaeger.codecs.query_json import dumps, envelope, error_body, trace_to_dict
from pyjaeger.gotext import strconv
from pyjaeger.http_body import BadBody, BodyTooLarge, read_body
from pyjaeger.http_metrics import instrument
from pyjaeger.http_text import text_response
from pyjaeger.metrics import HttpServerMetrics
from pyjaeger.model import Span, Trace, trace_id_to_hex
from pyjaeger.query.api_v3 import api_v3_routes
from pyjaeger.query.config import QueryConfig
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
from pyjaeger.query.static_ui import static_ui_routes

__all__ = ["MAX_TRANSFORM_BODY", "METRICS_DISABLED", "query_app"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

# An uploaded trace file; its rendering is a few times this size in memory at once.
MAX_TRANSFORM_BODY = 20 * 1024 * 1024
# Jaeger v2.20's text for a query service without a metrics store (v1.x and v2 up to 2.18 said
# "metrics querying is currently disabled"); the UI keys on the 501, not on the words.
METRICS_DISABLED = "trace metrics are currently disabled - no metrics backend configured"
_METRICS_SPAN_KINDS = frozenset({"unspecified", "internal", "server", "client", "producer", "consumer"})


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


def _first(request: Request, name: str) -> str:
    """Go's `r.URL.Query().Get`: the first value, '' when absent."""
    values = request.query_params.getlist(name)
    return values[0] if values else ""


def _check_int(request: Request, name: str) -> None:
    value = _first(request, name)
    if value != "":
        try:
            strconv.parse_int(value, 64)
        except ValueError as e:
            raise ParamError(f"unable to parse param '{name}': {e}") from None


def _check_metrics_params(request: Request, quantile: bool) -> None:
    """Jaeger's `parseMetricsQueryParams` (after `quantile` for latencies), in its order, for
    its 400s; the values themselves have no use without a metrics store."""
    if quantile:
        try:
            strconv.parse_float(_first(request, "quantile"))
        except ValueError as e:
            raise ParamError(f"unable to parse param 'quantile': {e}") from None
    if "service" not in request.query_params:
        raise ParamError("unable to parse param 'service': please provide at least one service name")
    value = _first(request, "groupByOperation")
    if value != "":
        try:
            strconv.parse_bool(value)
        except ValueError as e:
            raise ParamError(f"unable to parse param 'groupByOperation': {e}") from None
    for kind in request.query_params.getlist("spanKind"):
        if kind.lower() not in _METRICS_SPAN_KINDS:
            raise ParamError(f"unable to parse param 'spanKind': unsupported span kind: '{kind}'")
    for name in ("endTs", "lookback", "step", "ratePer"):  # ms, int64 text
        _check_int(request, name)


def _group_traces(spans: list[Span]) -> list[Trace]:
    """Spans into traces by trace id, traces in order of their first span, spans in given order."""
    by_id: dict[int, list[Span]] = {}
    for s in spans:
        by_id.setdefault(s.trace_id, []).append(s)
    return [Trace(group) for group in by_id.values()]


def query_app(
    service: QueryService, config: QueryConfig | None = None, http_metrics: HttpServerMetrics | None = None
) -> Starlette:
    config = config or QueryConfig()
    base_path = config.base_path

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

    async def transform(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_TRANSFORM_BODY)
        except BodyTooLarge as e:
            return _error(413, str(e))
        except BadBody as e:
            return _error(400, str(e))
        try:
            result = decode_export_json(body)
        except DecodeError as e:
            # Jaeger's wording, space before the colon included.
            return _error(400, f"cannot unmarshal OTLP : {e}")
        if result.rejected:
            # Jaeger refuses a malformed id outright; a trace with a hole would mislead more.
            return _error(400, f"cannot unmarshal OTLP : {result.first_reason}")
        traces = _group_traces(result.spans)
        return _json(envelope([trace_to_dict(t) for t in traces]), request)

    def metrics_route(quantile: bool) -> Handler:
        async def metrics(request: Request) -> Response:
            _check_metrics_params(request, quantile)
            return _error(501, METRICS_DISABLED)

        return metrics

    async def min_step(request: Request) -> Response:
        return _error(501, METRICS_DISABLED)

    async def post_only(request: Request) -> Response:
        return text_response(405, "Method Not Allowed", {"Allow": "POST"})

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
        Route("/transform", _guarded(transform), methods=["POST"]),
        # A GET would otherwise end on the catch-all below as a 404.
        Route("/transform", post_only),
        Route("/metrics/latencies", _guarded(metrics_route(quantile=True))),
        Route("/metrics/calls", _guarded(metrics_route(quantile=False))),
        Route("/metrics/errors", _guarded(metrics_route(quantile=False))),
        Route("/metrics/minstep", min_step),
        Route("/{rest:path}", not_found),
    ]
    prefix = "" if base_path == "/" else base_path
    # Built first: a UI folder or config that cannot be used stops the start, naming the flag.
    ui = static_ui_routes(config.static_files, config.ui_config, base_path)
    app = Starlette(
        routes=[
            Mount(f"{prefix}/api/v3", routes=api_v3_routes(service)),
            Mount(f"{prefix}/api", routes=api),
            # `/api` itself, which the UI's catch-all would otherwise answer with HTML.
            Route(f"{prefix}/api", not_found),
            *ui,
        ]
    )
    if http_metrics is not None:
        instrument(app, http_metrics, "query", base_path)
    return app
