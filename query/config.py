"""`QueryConfig`: the query service's `--query.*` flags."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits

__all__ = ["QueryConfig"]


@dataclass(slots=True, frozen=True)
class QueryConfig:
    http_host_port: HostPort = HostPort("0.0.0.0", 16686)
    base_path: str = "/"  # every route under it, e.g. /jaeger
    http_limits: HttpLimits = HttpLimits()  # --query.http-server.*

    def validate(self) -> None:
        bp = self.base_path
        if not bp.startswith("/") or (len(bp) > 1 and bp.endswith("/")):
            raise ConfigError("--query.base-path must start with '/' and must not end with '/'")
        self.http_limits.validate("query.http-server")
