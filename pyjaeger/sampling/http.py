"""The `service` query parameter rule shared by every sampling HTTP endpoint (agent and collector)."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["SERVICE_ONCE", "service_param"]

SERVICE_ONCE = "'service' parameter must be provided once"


def service_param(request: Request) -> str | None:
    """The one `service` value, or None when it is missing or repeated (Jaeger answers 400)."""
    values = request.query_params.getlist("service")
    return values[0] if len(values) == 1 else None
