"""`QueryConfig`: the query service's `--query.*` flags."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits

__all__ = ["QueryConfig"]


@dataclass(slots=True, frozen=True)
class QueryConfig:
    http_host_port: HostPort = HostPort("0.0.0.0", 16686)
    grpc_host_port: HostPort = HostPort("0.0.0.0", 16685)  # api_v2 and api_v3 QueryService
    base_path: str = "/"  # every route under it, e.g. /jaeger
    http_limits: HttpLimits = HttpLimits()  # --query.http-server.*
    static_files: str = ""  # a Jaeger UI build served at the base path; "": none
    ui_config: str = ""  # the UI's configuration (.json, or .js defining UIConfig); "": none

    def validate(self) -> None:
        bp = self.base_path
        if not bp.startswith("/") or (len(bp) > 1 and bp.endswith("/")):
            raise ConfigError("--query.base-path must start with '/' and must not end with '/'")
        self.http_limits.validate("query.http-server")
        if self.static_files:
            index = os.path.join(self.static_files, "index.html")
            if not os.path.isdir(self.static_files):
                raise ConfigError(f"--query.static-files: {self.static_files} is not a directory")
            if not os.path.isfile(index) or not os.access(index, os.R_OK):
                raise ConfigError(
                    f"--query.static-files: {index} is missing or unreadable (a Jaeger UI build has one)"
                )
        if self.ui_config:
            if not self.static_files:
                # pyjaeger has no built-in UI to apply it to: a silently unused flag would mislead.
                raise ConfigError("--query.ui-config needs --query.static-files (a UI build to configure)")
            if os.path.splitext(self.ui_config)[1].lower() not in (".json", ".js"):
                raise ConfigError(f"--query.ui-config: {self.ui_config} must be a .json or .js file")
            if not os.path.isfile(self.ui_config) or not os.access(self.ui_config, os.R_OK):
                raise ConfigError(f"--query.ui-config: {self.ui_config} is missing or unreadable")
