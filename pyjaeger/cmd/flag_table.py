"""The flags of the server commands (all-in-one, collector, query, agent): names, help, kinds.

Each flag names the `Config` field it sets; its default is that field's default, rendered as flag
text by its `Kind`, so a default lives only in the config class of its component. Which command
takes which flags, and the few defaults a command changes, are in `flags.COMMANDS`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pyjaeger.cmd.config import Config
from pyjaeger.cmd.flag_rules import (
    BOOL,
    DURATION_S,
    DURATION_US,
    FLOAT,
    HOST_PORT,
    INT,
    KEYS,
    LIST,
    LOWER,
    OPTIONAL_HOST_PORT,
    TEXT,
    Kind,
    env_name,
)

__all__ = ["Flag", "FLAGS", "config_default"]


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    help: str
    target: str  # "section.field" in Config, or "field" for top-level
    group: str  # which commands take it: common, collector, query, storage, sampling, agent, reporter
    kind: Kind = TEXT
    override: str | None = None  # a command's own default text (set from COMMANDS)

    @property
    def env(self) -> str:
        return env_name(self.name)

    @property
    def default(self) -> str:
        if self.override is not None:
            return self.override
        return self.kind.format(config_default(self.target))


@functools.cache
def _defaults() -> Config:
    return Config()


def config_default(target: str) -> Any:
    """The default of the Config field at `target` ("storage.memory.max_traces")."""
    return functools.reduce(getattr, target.split("."), _defaults())


def _es(name: str, help_: str, kind: Kind = TEXT) -> Flag:
    return Flag(f"es.{name}", help_, "storage.elasticsearch." + name.replace("-", "_"), "storage", kind)


def _udp(proto: str) -> tuple[Flag, ...]:
    def flag(suffix: str, help_: str, field_: str, kind: Kind = INT) -> Flag:
        return Flag(f"processor.jaeger-{proto}.{suffix}", help_, f"agent.{proto}.{field_}", "agent", kind)

    return (
        flag(
            "server-host-port",
            f"host:port of the UDP server for Jaeger thrift emitBatch ({proto} protocol by default;"
            " each datagram's protocol is detected from its first byte)",
            "host_port",
            HOST_PORT,
        ),
        flag(
            "server-queue-size", "Datagrams waiting to be decoded; more are dropped and counted", "queue_size"
        ),
        flag(
            "workers",
            "Accepted for compatibility with Jaeger; datagrams are decoded on the process's event loop",
            "workers",
        ),
        flag("server-max-packet-size", "The largest datagram accepted, in bytes", "max_packet_size"),
        flag(
            "server-socket-buffer-size",
            "Receive buffer requested for the UDP socket, in bytes (the kernel may grant less; the"
            " granted size is logged); 0 keeps the OS default",
            "socket_buffer_size",
        ),
    )


FLAGS: tuple[Flag, ...] = (
    Flag("log-level", "Minimal log level: debug, info, warn, error", "log_level", "common", LOWER),
    Flag(
        "log-format",
        "Log format on stderr: text, or json (one object per line with ts, level, logger, msg)",
        "log_format",
        "common",
        LOWER,
    ),
    Flag(
        "admin.http.host-port",
        "host:port of the admin server (health check at /, Prometheus metrics at /metrics)",
        "admin.http_host_port",
        "common",
        HOST_PORT,
    ),
    Flag(
        "span-storage.type",
        "The type of backend used for service dependencies and span storage: memory, sqlite or elasticsearch",
        "storage.span_storage_type",
        "storage",
    ),
    Flag(
        "memory.max-traces",
        "The maximum number of traces stored in memory; the oldest is evicted first. 0 means no limit",
        "storage.memory.max_traces",
        "storage",
        INT,
    ),
    Flag(
        "sqlite.path",
        "The sqlite database file of --span-storage.type=sqlite (created with its folder if missing)",
        "storage.sqlite.path",
        "storage",
    ),
    Flag(
        "sqlite.retention",
        "How long sqlite keeps spans (by start time); older ones are deleted in the background",
        "storage.sqlite.retention",
        "storage",
        DURATION_US,
    ),
    Flag(
        "sqlite.max-size",
        "Largest size of the sqlite data in bytes; past it the oldest spans go first. 0: no limit",
        "storage.sqlite.max_size",
        "storage",
        INT,
    ),
    _es("server-urls", "Comma-separated Elasticsearch URLs", LIST),
    _es("username", "Username for basic authentication"),
    _es("password", "Password for basic authentication"),
    _es("index-prefix", "Prefix of every index and template name (p gives p-jaeger-span-...)"),
    _es("index-date-separator", "Separator in the indices' date suffix"),
    _es("num-shards", "Shards of each new index", INT),
    _es("num-replicas", "Replicas of each new index", INT),
    _es("create-index-templates", "Install Jaeger's index templates at start-up", BOOL),
    _es("use-aliases", "Read and write through the aliases es-rollover manages", BOOL),
    _es("max-span-age", "How far back trace lookups and service lists reach", DURATION_US),
    _es("max-doc-count", "Hits per search and terms-aggregation size", INT),
    Flag(
        "es.bulk.size", "Largest _bulk request, in bytes", "storage.elasticsearch.bulk_size", "storage", INT
    ),
    Flag(
        "es.bulk.workers",
        "_bulk requests in flight at once",
        "storage.elasticsearch.bulk_workers",
        "storage",
        INT,
    ),
    Flag(
        "es.bulk.actions", "Documents per _bulk request", "storage.elasticsearch.bulk_actions", "storage", INT
    ),
    Flag(
        "es.bulk.flush-interval",
        "Accepted for compatibility: a _bulk request leaves once a --es.bulk.workers slot is free",
        "storage.elasticsearch.bulk_flush_interval",
        "storage",
        DURATION_S,
    ),
    _es("version", "Major version of Elasticsearch; 0 asks the cluster", INT),
    _es("timeout", "Timeout of one request to Elasticsearch", DURATION_S),
    _es(
        "start-timeout",
        "How long start-up keeps retrying an unreachable Elasticsearch before it gives up (0: one attempt)",
        DURATION_S,
    ),
    *(
        Flag(f"es.tls.{name}", help_, f"storage.elasticsearch.tls.{name.replace('-', '_')}", "storage", kind)
        for name, help_, kind in (
            ("enabled", "Talk to Elasticsearch over TLS", BOOL),
            ("ca", "CA bundle (PEM) that verifies the server's certificate", TEXT),
            ("cert", "Client certificate (PEM) for mutual TLS", TEXT),
            ("key", "Client private key (PEM) for mutual TLS", TEXT),
            ("server-name", "Host name expected in the server's certificate (default: the URL's host)", TEXT),
            (
                "skip-host-verify",
                "Accept any server certificate (insecure: for tests and self-signed setups)",
                BOOL,
            ),
        )
    ),
    *(
        Flag(
            f"es.tags-as-fields.{name}",
            help_,
            f"storage.elasticsearch.tags_as_fields.{name.replace('-', '_')}",
            "storage",
            kind,
        )
        for name, help_, kind in (
            ("all", "Store every tag as an object field (tag.<key>) besides the nested list", BOOL),
            ("include", "Comma-separated tag keys stored as object fields", KEYS),
            (
                "config-file",
                "File of tag keys (one a line) stored as object fields, merged with .include",
                TEXT,
            ),
            ("dot-replacement", "Replaces '.' in tag keys stored as fields", TEXT),
        )
    ),
    Flag(
        "collector.queue-size",
        "The queue size of the collector, in spans",
        "collector.queue_size",
        "collector",
        INT,
    ),
    Flag(
        "collector.num-workers",
        "The number of workers pulling items from the queue and writing them to storage",
        "collector.num_workers",
        "collector",
        INT,
    ),
    Flag(
        "collector.otlp.enabled",
        "Enables the OTLP receivers (gRPC and HTTP)",
        "collector.otlp_enabled",
        "collector",
        BOOL,
    ),
    Flag(
        "collector.otlp.grpc.host-port",
        "host:port of the OTLP gRPC receiver",
        "collector.otlp_grpc_host_port",
        "collector",
        HOST_PORT,
    ),
    Flag(
        "collector.otlp.http.host-port",
        "host:port of the OTLP HTTP receiver",
        "collector.otlp_http_host_port",
        "collector",
        HOST_PORT,
    ),
    Flag(
        "collector.http.max-request-size",
        "The largest HTTP request body the collector accepts, in bytes (after gzip decompression too);"
        " larger requests get 413",
        "collector.http_max_request_size",
        "collector",
        INT,
    ),
    Flag(
        "collector.grpc-server.max-message-size",
        "The largest gRPC message the collector accepts, in bytes; larger ones get RESOURCE_EXHAUSTED",
        "collector.grpc_max_message_size",
        "collector",
        INT,
    ),
    Flag(
        "collector.http-server.host-port",
        "host:port of the collector's HTTP server (Jaeger thrift POST /api/traces, GET /api/sampling)",
        "collector.http_host_port",
        "collector",
        HOST_PORT,
    ),
    Flag(
        "collector.grpc-server.host-port",
        "host:port of the collector's gRPC server (jaeger.api_v2 CollectorService and SamplingManager)",
        "collector.grpc_host_port",
        "collector",
        HOST_PORT,
    ),
    Flag(
        "collector.zipkin.host-port",
        "host:port of the Zipkin receiver (POST /api/v1/spans, /api/v2/spans; JSON, thrift, protobuf);"
        " empty: no Zipkin receiver",
        "collector.zipkin_host_port",
        "collector",
        OPTIONAL_HOST_PORT,
    ),
    Flag(
        "collector.zipkin.allowed-origins",
        "Comma-separated CORS origins the Zipkin receiver allows (* for any, http://*.example.com patterns)",
        "collector.zipkin_allowed_origins",
        "collector",
        LIST,
    ),
    Flag(
        "collector.zipkin.allowed-headers",
        "Comma-separated request headers the Zipkin receiver allows in CORS requests",
        "collector.zipkin_allowed_headers",
        "collector",
        LIST,
    ),
    Flag(
        "collector.zipkin.keep-alive",
        "Whether the Zipkin receiver keeps HTTP connections open between requests",
        "collector.zipkin_keep_alive",
        "collector",
        BOOL,
    ),
    Flag(
        "sampling.strategies-file",
        "Path of a sampling strategies file in Jaeger's JSON format; empty: probabilistic sampling"
        " at --sampling.default-sampling-probability for every service",
        "sampling.strategies_file",
        "sampling",
    ),
    Flag(
        "sampling.strategies-reload-interval",
        "How often the strategies file is re-read (Go duration, e.g. 1m); 0 never reloads",
        "sampling.reload_interval",
        "sampling",
        DURATION_S,
    ),
    Flag(
        "sampling.default-sampling-probability",
        "Sampling probability of services without a strategy in the file",
        "sampling.default_probability",
        "sampling",
        FLOAT,
    ),
    *_udp("compact"),
    *_udp("binary"),
    Flag(
        "http-server.host-port",
        "host:port of the agent's HTTP server (sampling strategies for clients)",
        "agent.http_host_port",
        "agent",
        HOST_PORT,
    ),
    Flag(
        "reporter.type",
        "How the agent forwards spans to collectors: grpc (jaeger.api_v2 PostSpans) or http (thrift)",
        "reporter.type",
        "reporter",
    ),
    Flag(
        "reporter.grpc.host-port",
        "Comma-separated host:port list of collectors' gRPC servers, used round-robin",
        "reporter.grpc_host_ports",
        "reporter",
        LIST,
    ),
    Flag(
        "reporter.grpc.retry.max",
        "Immediate retries of a failed batch against the next collectors before backing off",
        "reporter.retry_max",
        "reporter",
        INT,
    ),
    Flag(
        "reporter.http.endpoint",
        "With --reporter.type=http: the collector URL, e.g. http://collector:14268/api/traces",
        "reporter.http_endpoint",
        "reporter",
    ),
    Flag(
        "reporter.queue-size",
        "Spans the agent holds while no collector takes them; more are dropped and counted",
        "reporter.queue_size",
        "reporter",
        INT,
    ),
    Flag(
        "query.http-server.host-port",
        "host:port of the query HTTP server (Jaeger's JSON API)",
        "query.http_host_port",
        "query",
        HOST_PORT,
    ),
    Flag(
        "query.base-path",
        "The base path for all HTTP routes of the query server, e.g. /jaeger",
        "query.base_path",
        "query",
    ),
)
