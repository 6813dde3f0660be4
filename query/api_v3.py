"""Jaeger's api_v3 HTTP gateway (`/api/v3/...` on the query port), GET only, as Jaeger v2.20
serves it: what the Jaeger UI from v2.15 on reads services and operations from, and from v2.19
on searches with (`/trace-summaries`).

- `/services` → `{"services":[...]}`; `/operations?service=&spanKind=` →
  `{"operations":[{"name","spanKind"}]}`, an operation of no known kind being `internal`;
- `/traces/{trace_id}` and `/traces?query.*` → `{"result":{"resourceSpans":[...]}}` in OTLP/JSON
  (`codecs.otlp_encode`, `codecs.otlp_json_encode`), each trace's resources appended in turn;
  nothing found is a 404 `No traces found`;
- `/trace-summaries?query.*` → `{"summaries":[...]}` (`query.summaries`) from adjusted traces
  whatever `query.rawTraces` says; nothing found is `[]`. Every field is written, zeros too,
  where Jaeger's protobuf JSON leaves zeros out: UIs read both.
- errors: `{"error":{"httpCode":N,"message":"..."}}` written the way Go's `http.Error` writes it
  (text/plain, nosniff, a newline after), 400 for bad parameters (`query.params_v3`, Jaeger's
  texts), 404 for unknown `/api/v3` paths, 405 for methods other than GET, 500 (logged) when
  storage fails. JSON outside the traces escapes HTML characters as Go's encoder does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from pyjaeger.codecs.otlp_encode import traces_data
from pyjaeger.codecs.otlp_json_encode import traces_json
from pyjaeger.gotext.json import escape_html, marshal
from pyjaeger.model import Trace
from pyjaeger.query.params import ParamError
from pyjaeger.query.params_v3 import (
    parse_operations_query,
    parse_trace_lookup,
    parse_trace_search,
)
from pyjaeger.query.service import QueryService
from pyjaeger.query.summaries import TraceSummary

__all__ = ["api_v3_routes"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

_ALLOWED_METHODS = ("GET", "HEAD")
_NO_TRACES = "No traces found"


def _json(obj: Any) -> Response:
    return Response(escape_html(orjson.dumps(obj)), media_type="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = marshal({"error": {"httpCode": status, "message": message}}, sort_keys=False) + "\n"
    return Response(
        body.encode(),
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
    )


class _Endpoint:
    """A route's ASGI app: every method reaches it, so that a wrong one is answered in the
    api_v3 error shape (Starlette's own 405 is plain text), and failures become error answers."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._run(request)
        await response(scope, receive, send)

    async def _run(self, request: Request) -> Response:
        if request.method not in _ALLOWED_METHODS:
            return _error(405, "Method Not Allowed", {"Allow": ", ".join(_ALLOWED_METHODS)})
        try:
            return await self._handler(request)
        except ParamError as e:
            return _error(400, str(e))
        except Exception as e:
            log.exception("api_v3 %s failed", request.url.path)
            return _error(500, str(e) or type(e).__name__)


def _traces_response(traces: Sequence[Trace]) -> Response:
    if not traces:
        return _error(404, _NO_TRACES)
    result = traces_json(traces_data(t.spans for t in traces))
    # pdata writes the traces without HTML escaping; only the wrapper is ours.
    return Response(orjson.dumps({"result": result}), media_type="application/json")


def _summary_json(s: TraceSummary) -> dict[str, Any]:
    return {
        "traceId": s.trace_id_hex,
        "rootServiceName": s.root_service_name,
        "rootOperationName": s.root_operation_name,
        # fixed64 in protobuf JSON: decimal strings, which JavaScript reads without rounding.
        "minStartTimeUnixNano": str(s.min_start_time_unix_nano),
        "maxEndTimeUnixNano": str(s.max_end_time_unix_nano),
        "spanCount": s.span_count,
        "errorSpanCount": s.error_span_count,
        "orphanSpanCount": s.orphan_span_count,
        "services": [
            {"name": svc.name, "spanCount": svc.span_count, "errorSpanCount": svc.error_span_count}
            for svc in s.services
        ],
    }


def _path_trace_id(request: Request) -> str | None:
    """The `{trace_id}` segment as Go's ServeMux reads it: one segment of the raw path,
    percent-decoded (so a base64 id may carry `%2F`); None when the decoded path parameter
    spans more than one raw segment or is empty (Go's `{trace_id}` matches neither)."""
    param: str = request.path_params["trace_id"]
    raw_path = request.scope.get("raw_path")
    if raw_path is None:
        segment = param if "/" not in param else ""
    else:
        segment = unquote(raw_path.rsplit(b"/", 1)[-1].decode("latin-1"), encoding="utf-8", errors="replace")
    return segment if segment and segment == param else None


def api_v3_routes(service: QueryService) -> list[BaseRoute]:
    async def services(request: Request) -> Response:
        return _json({"services": await service.get_services()})

    async def operations(request: Request) -> Response:
        svc, kind = parse_operations_query(request.query_params.multi_items())
        ops = await service.get_operations(svc, kind)
        # Jaeger's gateway reports an operation of no known kind as internal.
        return _json(
            {"operations": [{"name": op.name, "spanKind": op.span_kind or "internal"} for op in ops]}
        )

    async def get_trace(request: Request) -> Response:
        trace_id = _path_trace_id(request)
        if trace_id is None:
            return await not_found(request)
        lookup = parse_trace_lookup(trace_id, request.query_params.multi_items())
        trace = await service.get_trace(lookup.trace_id, lookup.raw, lookup.start, lookup.end)
        return _traces_response([] if trace is None else [trace])

    async def find_traces(request: Request) -> Response:
        search = parse_trace_search(request.query_params.multi_items())
        return _traces_response(await service.find_traces(search.query, search.raw))

    async def trace_summaries(request: Request) -> Response:
        search = parse_trace_search(request.query_params.multi_items())
        summaries = await service.find_trace_summaries(search.query)
        return _json({"summaries": [_summary_json(s) for s in summaries]})

    async def not_found(request: Request) -> Response:
        return _error(404, f"404 page not found: {request.url.path}")

    def route(path: str, handler: Handler) -> Route:
        # An ASGI app, not a function: Starlette then lets every method through to _Endpoint.
        return Route(path, _Endpoint(handler))

    # Templates are Jaeger's: `http_route` is `/api/v3/traces/{trace_id}` as in Jaeger.
    return [
        route("/services", services),
        route("/operations", operations),
        route("/traces", find_traces),
        route("/traces/{trace_id:path}", get_trace),
        route("/trace-summaries", trace_summaries),
        route("/{rest:path}", not_found),
    ]
