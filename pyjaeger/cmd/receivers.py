"""The collector's receivers, as the all-in-one and `collector` run them in their own process or
each ingest worker process runs them (then on ports shared with SO_REUSEPORT)."""

from __future__ import annotations

from pyjaeger.collector.config import CollectorConfig
from pyjaeger.collector.grpc_api_v2 import api_v2_grpc_handlers
from pyjaeger.collector.intake import Intake
from pyjaeger.collector.otlp import OTLPIngest
from pyjaeger.collector.otlp_grpc import otlp_grpc_handler
from pyjaeger.collector.otlp_http import otlp_http_app
from pyjaeger.collector.thrift_http import thrift_http_app
from pyjaeger.collector.zipkin_http import zipkin_http_app
from pyjaeger.http_metrics import instrument
from pyjaeger.metrics import HttpServerMetrics
from pyjaeger.sampling.provider import StrategyProvider
from pyjaeger.servers import GrpcServer, HttpServer, Server

__all__ = ["collector_receivers", "receiver_addresses"]


def receiver_addresses(c: CollectorConfig) -> dict[str, str]:
    """Receiver name → the `CollectorConfig` field holding its address, for the receivers `c`
    enables (the names `collector_receivers` gives them)."""
    fields = {"collector HTTP server": "http_host_port", "collector gRPC server": "grpc_host_port"}
    if c.otlp_enabled:
        fields |= {"OTLP gRPC receiver": "otlp_grpc_host_port", "OTLP HTTP receiver": "otlp_http_host_port"}
    if c.zipkin_host_port is not None:
        fields["zipkin HTTP receiver"] = "zipkin_host_port"
    return fields


def collector_receivers(
    c: CollectorConfig,
    intake: Intake,
    provider: StrategyProvider,
    http_metrics: HttpServerMetrics,
    reuse_port: bool = False,
) -> list[Server]:
    receivers: list[Server] = [
        HttpServer(
            "collector HTTP server",
            instrument(thrift_http_app(intake, provider, c.http_max_request_size), http_metrics, "collector"),
            c.http_host_port,
            c.http_limits,
            reuse_port,
        ),
        GrpcServer(
            "collector gRPC server",
            api_v2_grpc_handlers(intake, provider),
            c.grpc_host_port,
            c.grpc_max_message_size,
            c.grpc_max_connection_age,
            c.grpc_max_connection_age_grace,
            reuse_port,
        ),
    ]
    if c.otlp_enabled:
        ingest = OTLPIngest(intake)
        receivers += [
            GrpcServer(
                "OTLP gRPC receiver",
                [otlp_grpc_handler(ingest)],
                c.otlp_grpc_host_port,
                c.grpc_max_message_size,
                c.otlp_grpc_max_connection_age,
                c.otlp_grpc_max_connection_age_grace,
                reuse_port,
            ),
            HttpServer(
                "OTLP HTTP receiver",
                instrument(otlp_http_app(ingest, c.http_max_request_size), http_metrics, "collector"),
                c.otlp_http_host_port,
                c.otlp_http_limits,
                reuse_port,
            ),
        ]
    if c.zipkin_host_port is not None:
        zipkin = zipkin_http_app(
            intake,
            c.http_max_request_size,
            allowed_origins=c.zipkin_allowed_origins,
            allowed_headers=c.zipkin_allowed_headers,
            keep_alive=c.zipkin_keep_alive,
        )
        receivers.append(
            HttpServer(
                "zipkin HTTP receiver",
                instrument(zipkin, http_metrics, "collector"),
                c.zipkin_host_port,
                c.zipkin_limits,
                reuse_port,
            )
        )
    return receivers
