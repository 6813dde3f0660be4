"""The one home of flag names, defaults and help, and of the flag → environment rule.

Flags mirror Jaeger's (`--collector.queue-size`); each can also come from the environment
variable Jaeger's viper setup reads (`COLLECTOR_QUEUE_SIZE`). A flag given on the command line
wins over the environment, which wins over the default.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pyjaeger.config import (
    AdminConfig,
    CollectorConfig,
    Config,
    ConfigError,
    MemoryConfig,
    QueryConfig,
    StorageConfig,
)
from pyjaeger.hostport import parse_host_port

__all__ = ["Flag", "FLAGS", "COMMANDS", "env_name", "add_flags", "build_config"]


def env_name(flag: str) -> str:
    """Jaeger's rule: upper case, `.` and `-` become `_`."""
    return flag.upper().replace(".", "_").replace("-", "_")


def _parse_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "t", "true", "yes", "on"):
        return True
    if v in ("0", "f", "false", "no", "off"):
        return False
    raise ValueError(f"{s!r} is not a boolean")


def _parse_size(s: str) -> int:
    return int(s)


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    default: str
    help: str
    target: str  # "section.field" in Config, or "field" for top-level
    group: str  # which components use it: common, collector, query, storage
    parse: Callable[[str], Any] = str
    is_bool: bool = False

    @property
    def env(self) -> str:
        return env_name(self.name)


FLAGS: tuple[Flag, ...] = (
    Flag("log-level", "info", "Minimal log level: debug, info, warn, error", "log_level", "common"),
    Flag(
        "admin.http.host-port",
        ":14269",
        "host:port of the admin server (health check at /, Prometheus metrics at /metrics)",
        "admin.http_host_port",
        "common",
        parse_host_port,
    ),
    Flag(
        "span-storage.type",
        "memory",
        "The type of backend used for service dependencies and span storage: memory",
        "storage.span_storage_type",
        "storage",
    ),
    Flag(
        "memory.max-traces",
        "100000",
        "The maximum number of traces stored in memory; the oldest is evicted first. 0 means no limit",
        "storage.memory.max_traces",
        "storage",
        int,
    ),
    Flag(
        "collector.queue-size",
        "2000",
        "The queue size of the collector, in spans",
        "collector.queue_size",
        "collector",
        int,
    ),
    Flag(
        "collector.num-workers",
        "50",
        "The number of workers pulling items from the queue and writing them to storage",
        "collector.num_workers",
        "collector",
        int,
    ),
    Flag(
        "collector.otlp.enabled",
        "true",
        "Enables the OTLP receivers (gRPC and HTTP)",
        "collector.otlp_enabled",
        "collector",
        _parse_bool,
        is_bool=True,
    ),
    Flag(
        "collector.otlp.grpc.host-port",
        ":4317",
        "host:port of the OTLP gRPC receiver",
        "collector.otlp_grpc_host_port",
        "collector",
        parse_host_port,
    ),
    Flag(
        "collector.otlp.http.host-port",
        ":4318",
        "host:port of the OTLP HTTP receiver",
        "collector.otlp_http_host_port",
        "collector",
        parse_host_port,
    ),
    Flag(
        "collector.http.max-request-size",
        str(20 * 1024 * 1024),
        "The largest HTTP request body the collector accepts, in bytes (after gzip decompression too);"
        " larger requests get 413",
        "collector.http_max_request_size",
        "collector",
        _parse_size,
    ),
    Flag(
        "collector.grpc-server.max-message-size",
        str(4 * 1024 * 1024),
        "The largest gRPC message the collector accepts, in bytes; larger ones get RESOURCE_EXHAUSTED",
        "collector.grpc_max_message_size",
        "collector",
        _parse_size,
    ),
    Flag(
        "query.http-server.host-port",
        ":16686",
        "host:port of the query HTTP server (Jaeger's JSON API)",
        "query.http_host_port",
        "query",
        parse_host_port,
    ),
    Flag(
        "query.base-path",
        "/",
        "The base path for all HTTP routes of the query server, e.g. /jaeger",
        "query.base_path",
        "query",
    ),
)

# Sub-command → (groups of flags, per-command default overrides), as in Jaeger's binaries.
COMMANDS: Mapping[str, tuple[frozenset[str], Mapping[str, str]]] = {
    "all-in-one": (frozenset({"common", "collector", "query", "storage"}), {}),
    "collector": (frozenset({"common", "collector", "storage"}), {}),
    "query": (frozenset({"common", "query", "storage"}), {"admin.http.host-port": ":16687"}),
}


def _flags_for(command: str) -> list[Flag]:
    groups, overrides = COMMANDS[command]
    return [replace(f, default=overrides.get(f.name, f.default)) for f in FLAGS if f.group in groups]


def add_flags(parser: argparse.ArgumentParser, command: str) -> None:
    for f in _flags_for(command):
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": None,
            "metavar": "BOOL" if f.is_bool else "VALUE",
            "help": f"{f.help} (default {f.default!r}; env {f.env})",
        }
        if f.is_bool:
            kwargs.update(nargs="?", const="true")
        parser.add_argument(f"--{f.name}", **kwargs)


def build_config(command: str, args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """Resolve every flag (command line, then environment, then default) into a validated Config."""
    sections: dict[str, dict[str, Any]] = {
        "collector": {},
        "storage": {},
        "memory": {},
        "query": {},
        "admin": {},
    }
    top: dict[str, Any] = {}
    for f in _flags_for(command):
        raw = getattr(args, f.name, None)
        source = f"--{f.name}"
        if raw is None and f.env in environ:
            raw, source = environ[f.env], f"env {f.env}"
        if raw is None:
            raw = f.default
        try:
            value = f.parse(raw)
        except ValueError as e:
            raise ConfigError(f"{source}: invalid value {raw!r}: {e}") from None
        path = f.target.split(".")
        if len(path) == 1:
            top[path[0]] = value
        elif path[:2] == ["storage", "memory"]:
            sections["memory"][path[2]] = value
        else:
            sections[path[0]][path[1]] = value
    if isinstance(top.get("log_level"), str):
        top["log_level"] = top["log_level"].lower()
    config = Config(
        collector=CollectorConfig(**sections["collector"]),
        storage=StorageConfig(memory=MemoryConfig(**sections["memory"]), **sections["storage"]),
        query=QueryConfig(**sections["query"]),
        admin=AdminConfig(**sections["admin"]),
        **top,
    )
    config.validate()
    return config


def describe(command: str) -> Sequence[Flag]:
    """The flags a sub-command takes, with its defaults (for docs and tests)."""
    return _flags_for(command)
