"""The one home of flag names, defaults and help, and of the flag → environment rule.

Flags mirror Jaeger's (`--collector.queue-size`); each can also come from the environment
variable Jaeger's viper setup reads (`COLLECTOR_QUEUE_SIZE`). A flag given on the command line
wins over the environment, which wins over the default.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, get_type_hints

from pyjaeger.config import Config, ConfigError
from pyjaeger.duration import parse_go_duration
from pyjaeger.hostport import HostPort, parse_host_port

__all__ = ["Flag", "FLAGS", "COMMANDS", "env_name", "add_flags", "build_config", "flag_value"]


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


def _parse_seconds(s: str) -> float:
    """A Go duration ("100ms", "1m") as seconds."""
    return parse_go_duration(s) / 1e6


def _parse_optional_host_port(s: str) -> HostPort | None:
    """Jaeger's off switch for an optional listener: an empty host:port opens nothing."""
    return parse_host_port(s) if s.strip() else None


def _parse_list(s: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in s.split(",") if p.strip())


def _parse_keys(s: str) -> frozenset[str]:
    """Jaeger splits the include list on commas and keeps each entry exactly as written."""
    return frozenset(k for k in s.split(",") if k)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    default: str
    help: str
    target: str  # "section.field" in Config, or "field" for top-level
    group: str  # which components use it: common, collector, query, storage, sampling, agent, reporter
    parse: Callable[[str], Any] = str
    is_bool: bool = False

    @property
    def env(self) -> str:
        return env_name(self.name)


FLAGS: tuple[Flag, ...] = (
    Flag(
        "log-level", "info", "Minimal log level: debug, info, warn, error", "log_level", "common", str.lower
    ),
    Flag(
        "log-format",
        "text",
        "Log format on stderr: text, or json (one object per line with ts, level, logger, msg)",
        "log_format",
        "common",
        str.lower,
    ),
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
        "The type of backend used for service dependencies and span storage: memory, sqlite or elasticsearch",
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
        "sqlite.path",
        "./pyjaeger-data/traces.db",
        "The sqlite database file of --span-storage.type=sqlite (created with its folder if missing)",
        "storage.sqlite.path",
        "storage",
    ),
    Flag(
        "sqlite.retention",
        "168h",
        "How long sqlite keeps spans (by start time); older ones are deleted in the background",
        "storage.sqlite.retention",
        "storage",
        parse_go_duration,
    ),
    Flag(
        "sqlite.max-size",
        "0",
        "Largest size of the sqlite data in bytes; past it the oldest spans go first. 0: no limit",
        "storage.sqlite.max_size",
        "storage",
        int,
    ),
    *(
        Flag(f"es.{name}", default, help_, f"storage.elasticsearch.{target}", "storage", parse, is_bool)
        for name, default, help_, target, parse, is_bool in (
            (
                "server-urls",
                "http://127.0.0.1:9200",
                "Comma-separated Elasticsearch URLs",
                "server_urls",
                _parse_list,
                False,
            ),
            ("username", "", "Username for basic authentication", "username", str, False),
            ("password", "", "Password for basic authentication", "password", str, False),
            (
                "index-prefix",
                "",
                "Prefix of every index and template name (p gives p-jaeger-span-...)",
                "index_prefix",
                str,
                False,
            ),
            (
                "index-date-separator",
                "-",
                "Separator in the indices' date suffix",
                "index_date_separator",
                str,
                False,
            ),
            ("num-shards", "5", "Shards of each new index", "num_shards", int, False),
            ("num-replicas", "1", "Replicas of each new index", "num_replicas", int, False),
            (
                "create-index-templates",
                "true",
                "Install Jaeger's index templates at start-up",
                "create_index_templates",
                _parse_bool,
                True,
            ),
            (
                "use-aliases",
                "false",
                "Read and write through the aliases es-rollover manages",
                "use_aliases",
                _parse_bool,
                True,
            ),
            (
                "max-span-age",
                "72h",
                "How far back trace lookups and service lists reach",
                "max_span_age",
                parse_go_duration,
                False,
            ),
            (
                "max-doc-count",
                "10000",
                "Hits per search and terms-aggregation size",
                "max_doc_count",
                int,
                False,
            ),
            ("bulk.size", "5000000", "Largest _bulk request, in bytes", "bulk_size", int, False),
            ("bulk.workers", "1", "_bulk requests in flight at once", "bulk_workers", int, False),
            ("bulk.actions", "1000", "Documents per _bulk request", "bulk_actions", int, False),
            (
                "bulk.flush-interval",
                "200ms",
                "Accepted for compatibility: a _bulk request leaves once a --es.bulk.workers slot is free",
                "bulk_flush_interval",
                _parse_seconds,
                False,
            ),
            ("version", "0", "Major version of Elasticsearch; 0 asks the cluster", "version", int, False),
            ("timeout", "30s", "Timeout of one request to Elasticsearch", "timeout", _parse_seconds, False),
            (
                "start-timeout",
                "60s",
                "How long start-up keeps retrying an unreachable Elasticsearch before it gives up"
                " (0: one attempt)",
                "start_timeout",
                _parse_seconds,
                False,
            ),
            ("tls.enabled", "false", "Talk to Elasticsearch over TLS", "tls.enabled", _parse_bool, True),
            ("tls.ca", "", "CA bundle (PEM) that verifies the server's certificate", "tls.ca", str, False),
            ("tls.cert", "", "Client certificate (PEM) for mutual TLS", "tls.cert", str, False),
            ("tls.key", "", "Client private key (PEM) for mutual TLS", "tls.key", str, False),
            (
                "tls.server-name",
                "",
                "Host name expected in the server's certificate (default: the URL's host)",
                "tls.server_name",
                str,
                False,
            ),
            (
                "tls.skip-host-verify",
                "false",
                "Accept any server certificate (insecure: for tests and self-signed setups)",
                "tls.skip_host_verify",
                _parse_bool,
                True,
            ),
            (
                "tags-as-fields.all",
                "false",
                "Store every tag as an object field (tag.<key>) besides the nested list",
                "tags_as_fields.all",
                _parse_bool,
                True,
            ),
            (
                "tags-as-fields.include",
                "",
                "Comma-separated tag keys stored as object fields",
                "tags_as_fields.include",
                _parse_keys,
                False,
            ),
            (
                "tags-as-fields.config-file",
                "",
                "File of tag keys (one a line) stored as object fields, merged with .include",
                "tags_as_fields.config_file",
                str,
                False,
            ),
            (
                "tags-as-fields.dot-replacement",
                "@",
                "Replaces '.' in tag keys stored as fields",
                "tags_as_fields.dot_replacement",
                str,
                False,
            ),
        )
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
        "collector.http-server.host-port",
        ":14268",
        "host:port of the collector's HTTP server (Jaeger thrift POST /api/traces, GET /api/sampling)",
        "collector.http_host_port",
        "collector",
        parse_host_port,
    ),
    Flag(
        "collector.grpc-server.host-port",
        ":14250",
        "host:port of the collector's gRPC server (jaeger.api_v2 CollectorService and SamplingManager)",
        "collector.grpc_host_port",
        "collector",
        parse_host_port,
    ),
    Flag(
        "collector.zipkin.host-port",
        "",
        "host:port of the Zipkin receiver (POST /api/v1/spans, /api/v2/spans; JSON, thrift, protobuf);"
        " empty: no Zipkin receiver",
        "collector.zipkin_host_port",
        "collector",
        _parse_optional_host_port,
    ),
    Flag(
        "collector.zipkin.allowed-origins",
        "*",
        "Comma-separated CORS origins the Zipkin receiver allows (* for any, http://*.example.com patterns)",
        "collector.zipkin_allowed_origins",
        "collector",
        _parse_list,
    ),
    Flag(
        "collector.zipkin.allowed-headers",
        "content-type",
        "Comma-separated request headers the Zipkin receiver allows in CORS requests",
        "collector.zipkin_allowed_headers",
        "collector",
        _parse_list,
    ),
    Flag(
        "collector.zipkin.keep-alive",
        "true",
        "Whether the Zipkin receiver keeps HTTP connections open between requests",
        "collector.zipkin_keep_alive",
        "collector",
        _parse_bool,
        is_bool=True,
    ),
    Flag(
        "sampling.strategies-file",
        "",
        "Path of a sampling strategies file in Jaeger's JSON format; empty: probabilistic sampling"
        " at --sampling.default-sampling-probability for every service",
        "sampling.strategies_file",
        "sampling",
    ),
    Flag(
        "sampling.strategies-reload-interval",
        "0s",
        "How often the strategies file is re-read (Go duration, e.g. 1m); 0 never reloads",
        "sampling.reload_interval",
        "sampling",
        _parse_seconds,
    ),
    Flag(
        "sampling.default-sampling-probability",
        "0.001",
        "Sampling probability of services without a strategy in the file",
        "sampling.default_probability",
        "sampling",
        float,
    ),
    *(
        flag
        for proto, port in (("compact", 6831), ("binary", 6832))
        for flag in (
            Flag(
                f"processor.jaeger-{proto}.server-host-port",
                f":{port}",
                f"host:port of the UDP server for Jaeger thrift emitBatch ({proto} protocol by default;"
                " each datagram's protocol is detected from its first byte)",
                f"agent.{proto}.host_port",
                "agent",
                parse_host_port,
            ),
            Flag(
                f"processor.jaeger-{proto}.server-queue-size",
                "1000",
                "Datagrams waiting to be decoded; more are dropped and counted",
                f"agent.{proto}.queue_size",
                "agent",
                int,
            ),
            Flag(
                f"processor.jaeger-{proto}.workers",
                "10",
                "Accepted for compatibility with Jaeger; datagrams are decoded on the process's event loop",
                f"agent.{proto}.workers",
                "agent",
                int,
            ),
            Flag(
                f"processor.jaeger-{proto}.server-max-packet-size",
                "65000",
                "The largest datagram accepted, in bytes",
                f"agent.{proto}.max_packet_size",
                "agent",
                int,
            ),
            Flag(
                f"processor.jaeger-{proto}.server-socket-buffer-size",
                str(16 * 1024 * 1024),
                "Receive buffer requested for the UDP socket, in bytes (the kernel may grant less; the"
                " granted size is logged); 0 keeps the OS default",
                f"agent.{proto}.socket_buffer_size",
                "agent",
                int,
            ),
        )
    ),
    Flag(
        "http-server.host-port",
        ":5778",
        "host:port of the agent's HTTP server (sampling strategies for clients)",
        "agent.http_host_port",
        "agent",
        parse_host_port,
    ),
    Flag(
        "reporter.type",
        "grpc",
        "How the agent forwards spans to collectors: grpc (jaeger.api_v2 PostSpans) or http (thrift)",
        "reporter.type",
        "reporter",
    ),
    Flag(
        "reporter.grpc.host-port",
        "",
        "Comma-separated host:port list of collectors' gRPC servers, used round-robin",
        "reporter.grpc_host_ports",
        "reporter",
        _parse_list,
    ),
    Flag(
        "reporter.grpc.retry.max",
        "3",
        "Immediate retries of a failed batch against the next collectors before backing off",
        "reporter.retry_max",
        "reporter",
        int,
    ),
    Flag(
        "reporter.http.endpoint",
        "",
        "With --reporter.type=http: the collector URL, e.g. http://collector:14268/api/traces",
        "reporter.http_endpoint",
        "reporter",
    ),
    Flag(
        "reporter.queue-size",
        "100000",
        "Spans the agent holds while no collector takes them; more are dropped and counted",
        "reporter.queue_size",
        "reporter",
        int,
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
    # Jaeger v2's all-in-one opens Zipkin on 9411 out of the box; the bare collector keeps it off.
    "all-in-one": (
        frozenset({"common", "collector", "query", "storage", "sampling", "agent"}),
        {"collector.zipkin.host-port": ":9411"},
    ),
    "collector": (frozenset({"common", "collector", "storage", "sampling"}), {}),
    "query": (frozenset({"common", "query", "storage"}), {"admin.http.host-port": ":16687"}),
    "agent": (frozenset({"common", "agent", "reporter"}), {"admin.http.host-port": ":14271"}),
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
    values: dict[str, Any] = {}
    for f in _flags_for(command):
        value = _resolve(f, args, environ)
        node = values
        *parents, leaf = f.target.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    config = _build(Config, values)
    config.validate(command)
    return config


def flag_value(command: str, name: str, args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    """One flag of a sub-command resolved as `build_config` resolves it, the rest left unchecked
    (the container health probe needs only the admin address)."""
    flag = next(f for f in _flags_for(command) if f.name == name)
    return _resolve(flag, args, environ)


def _resolve(f: Flag, args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    raw = getattr(args, f.name, None)
    source = f"--{f.name}"
    if raw is None and f.env in environ:
        raw, source = environ[f.env], f"env {f.env}"
    if raw is None:
        raw = f.default
    try:
        return f.parse(raw)
    except ValueError as e:
        raise ConfigError(f"{source}: invalid value {raw!r}: {e}") from None


def _build(cls: type[T], values: Mapping[str, Any]) -> T:
    """A config dataclass from a nested dict; sections absent from `values` keep their defaults."""
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in values:
            v = values[f.name]
            kwargs[f.name] = _build(hints[f.name], v) if isinstance(v, dict) else v
    return cls(**kwargs)


def describe(command: str) -> Sequence[Flag]:
    """The flags a sub-command takes, with its defaults (for docs and tests)."""
    return _flags_for(command)
