"""Per-route request durations for pyjaeger's Starlette apps (`http_server_request_duration_seconds`).

`instrument(app, metrics, component)` adds a middleware that observes one histogram sample per
request, labelled with the method, the route template Starlette matched, the status code and the
server's component name.

The route label is the template, never the raw path, so trace IDs and service names cannot grow
the series count: `/api/traces/{traceID}`, `/api/services/{service}/operations`. Templates are
computed once from the app's routes and looked up per request by the route object Starlette
stores in the scope, so a request costs a dict lookup, not a regex. Like Jaeger, which tags its
query routes below `--query.base-path`, the route leaves the base path out: dashboards work for
any base path. A request no route matched has the route `""` (OTel leaves `http.route` unset
then, and Prometheus treats an empty label as absent).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Histogram
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyjaeger.metrics import HttpServerMetrics

__all__ = ["UNMATCHED", "HttpMetricsMiddleware", "instrument", "route_templates"]

UNMATCHED = ""

# OTel's rule for http.request.method: known methods as they are, anything else one value, so a
# client cannot mint series with made-up methods.
_METHODS = {m: m for m in ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")}
_OTHER_METHOD = "_OTHER"


def route_templates(routes: Sequence[BaseRoute], prefix: str = "") -> dict[int, str]:
    """id(route) → its full path template (convertors dropped: `{service:path}` is `{service}`) for
    every route a request can end on. Mounts of routers are walked, not listed: a request that
    enters one and matches nothing inside stays unmatched."""
    out: dict[int, str] = {}
    for r in routes:
        if isinstance(r, Mount) and r.routes:
            out.update(route_templates(r.routes, prefix + r.path))
        elif isinstance(r, (Route, WebSocketRoute, Mount)):
            out[id(r)] = prefix + r.path_format
    return out


class HttpMetricsMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: HttpServerMetrics, component: str, templates: dict[int, str]
    ) -> None:
        self.app = app
        self._histogram = metrics.duration
        self._component = component
        self._templates = templates
        # Label children by (method, route id, status): `labels()` validates and locks on every call.
        self._children: dict[tuple[str, int, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An exception before the response started reaches the client as Starlette's 500.
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        except Exception:
            self._observe(scope, status, time.perf_counter() - start)
            raise
        # A cancelled request (server shutdown, client gone) has no outcome and is not counted.
        self._observe(scope, status, time.perf_counter() - start)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = _METHODS.get(scope["method"], _OTHER_METHOD)
        # Starlette's router leaves the innermost route it matched (fully or by path only: a 405)
        # in the scope; the same scope object comes back here.
        route = id(scope.get("route"))
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            template = self._templates.get(route, UNMATCHED)
            child = self._histogram.labels(self._component, method, template, str(status))
            self._children[key] = child
        child.observe(seconds)


def instrument(app: Starlette, metrics: HttpServerMetrics, component: str, base_path: str = "/") -> Starlette:
    """Record `app`'s requests in `metrics` under `component`; routes are reported without
    `base_path`. Call before the app serves its first request."""
    templates = route_templates(app.routes)
    root = base_path.rstrip("/")
    if root:
        templates = {k: t.removeprefix(root) if t.startswith(root + "/") else t for k, t in templates.items()}
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics, component=component, templates=templates)
    return app
