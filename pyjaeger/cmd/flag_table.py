"""The flags of the server commands (all-in-one, collector, query, agent): names, help, kinds;
the storage ones are in `storage_flags`.

Each flag names the `Config` field it sets; its default is that field's default, rendered as flag
text by its `Kind`, so a default lives only in the config class of its component. Which command
takes which flags, and the few defaults a command changes, are in `flags.COMMANDS`.
"""

from __future__ import annotations

from pyjaeger.cmd.flag_rules import (
    BOOL,
    DURATION_S,
    FLOAT,
    HOST_PORT,
    INT,
    LIST,
    LOWER,
    OPTIONAL_HOST_PORT,
    Flag,
    Kind,
)
from pyjaeger.cmd.storage_flags import STORAGE_FLAGS

__all__ = ["FLAGS"]


def _http_limits(prefix: str, target: str, group: str) -> tuple[Flag, ...]:
    """Jaeger's timeouts of one HTTP listener, and our bound on its connections."""
    return (
        Flag(
            f"{prefix}.read-header-timeout",
            "Time a client has to send a request's head, from connecting or from a later request's"
            " first byte; 0: no limit",
            f"{target}.read_header_timeout",
            group,
            DURATION_S,
        ),
        Flag(
            f"{prefix}.read-timeout",
            "Time a client has to send a whole request, body included; 0: no limit",
            f"{target}.read_timeout",
            group,
            DURATION_S,
        ),
        Flag(
            f"{prefix}.idle-timeout",
            f"How long a kept-alive connection may wait for its next request; 0: --{prefix}.read-timeout"
            " (no limit when that is 0 too)",
            f"{target}.idle_timeout",
            group,
            DURATION_S,
        ),
        Flag(
            f"{prefix}.max-connections",
            "Connections open at once; a new one past the bound closes the longest-idle one. 0: the"
            " process's share of its open-file limit",
            f"{target}.max_connections",
            group,
            INT,
        ),
    )


def _grpc_age(prefix: str, target: str) -> tuple[Flag, ...]:
    return (
        Flag(
            f"{prefix}.max-connection-age",
            "How long a gRPC connection may live before the server asks the client to reconnect"
            " (lets clients find new collectors); 0: no limit",
            f"collector.{target}_max_connection_age",
            "collector",
            DURATION_S,
        ),
        Flag(
            f"{prefix}.max-connection-age-grace",
            "Time given to a connection's calls after --" + prefix + ".max-connection-age before it"
            " is closed; 0: no limit",
            f"collector.{target}_max_connection_age_grace",
            "collector",
            DURATION_S,
        ),
    )


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
    *_http_limits("admin.http", "admin.http_limits", "common"),
    *STORAGE_FLAGS,
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
        "collector.ingest-processes",
        "Processes decoding received spans (pyjaeger's own): 0 starts one per CPU the process may use"
        " (a container's CPU limit counts), 1 decodes in the collector's own process",
        "collector.ingest_processes",
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
    *_http_limits("collector.http-server", "collector.http_limits", "collector"),
    *_http_limits("collector.otlp.http", "collector.otlp_http_limits", "collector"),
    *_http_limits("collector.zipkin", "collector.zipkin_limits", "collector"),
    *_grpc_age("collector.grpc-server", "grpc"),
    *_grpc_age("collector.otlp.grpc", "otlp_grpc"),
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
    *_http_limits("http-server", "agent.http_limits", "agent"),
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
    *_http_limits("query.http-server", "query.http_limits", "query"),
    Flag(
        "query.grpc-server.host-port",
        "host:port of the query gRPC server (jaeger.api_v2 and jaeger.api_v3 QueryService)",
        "query.grpc_host_port",
        "query",
        HOST_PORT,
    ),
    Flag(
        "query.static-files",
        "The directory path override for the static assets for the UI (a Jaeger UI build)",
        "query.static_files",
        "query",
    ),
    Flag(
        "query.ui-config",
        "The path to the UI configuration file in JSON format (or .js defining UIConfig)",
        "query.ui_config",
        "query",
    ),
    Flag(
        "query.base-path",
        "The base path for all HTTP routes of the query server, e.g. /jaeger",
        "query.base_path",
        "query",
    ),
)
