"""OTLP gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

Registered with raw-bytes (de)serializers so the request goes through the same codec as HTTP and
a body that does not decode gets INVALID_ARGUMENT instead of grpc's generic INTERNAL.
"""

from __future__ import annotations

from typing import Any

import grpc

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.collector.intake import QueueFullError
from pyjaeger.collector.otlp import OTLPIngest

__all__ = ["otlp_grpc_handler", "SERVICE_NAME"]

SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"


def otlp_grpc_handler(ingest: OTLPIngest) -> Any:
    async def export(request: bytes, context: Any) -> bytes:
        try:
            return await ingest.export(request, json=False, transport="grpc")
        except DecodeError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except QueueFullError as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        raise AssertionError("unreachable: context.abort raises")

    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {"Export": grpc.unary_unary_rpc_method_handler(export)},
    )
