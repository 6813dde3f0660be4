"""The admin server: Jaeger's health check at `/` and Prometheus metrics at `/metrics`."""

from __future__ import annotations

import datetime as dt
import time

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyjaeger import __version__
from pyjaeger.gotext.duration import format_go_duration

__all__ = ["Health", "admin_app"]


class Health:
    """Unavailable until `ready()`, and again once `draining()` starts on shutdown."""

    def __init__(self) -> None:
        self.available = False
        self._since: dt.datetime | None = None
        self._since_mono = 0.0

    def ready(self) -> None:
        self.available = True
        self._since = dt.datetime.now(dt.timezone.utc)
        self._since_mono = time.monotonic()

    def draining(self) -> None:
        self.available = False

    def body(self) -> tuple[int, dict[str, str]]:
        if not self.available or self._since is None:
            return 503, {"status": "Server not available", "upSince": "0001-01-01T00:00:00Z", "uptime": ""}
        uptime_us = int((time.monotonic() - self._since_mono) * 1e6)
        return 200, {
            "status": "Server available",
            "upSince": self._since.isoformat().replace("+00:00", "Z"),
            "uptime": format_go_duration(uptime_us),
        }


def admin_app(health: Health, registry: CollectorRegistry) -> Starlette:
    async def status(request: Request) -> Response:
        code, body = health.body()
        return Response(orjson.dumps(body), code, media_type="application/json")

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def version(request: Request) -> Response:
        body = {"gitCommit": "", "gitVersion": f"v{__version__}", "buildDate": ""}
        return Response(orjson.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/", status), Route("/metrics", metrics), Route("/version", version)])
