"""The collector's gRPC server on 14250: `jaeger.api_v2.CollectorService/PostSpans` and
`jaeger.api_v2.SamplingManager/GetSamplingStrategy`.

Raw-bytes handlers, so undecodable requests get INVALID_ARGUMENT from our codec instead of
grpc's generic INTERNAL, and the same codec serves the agent's forwarding.
"""

from __future__ import annotations

from typing import Any

import grpc

from pyjaeger.codecs.api_v2 import COLLECTOR_SERVICE, decode_post_spans
from pyjaeger.codecs.api_v2_sampling import (
    SAMPLING_SERVICE,
    decode_sampling_request,
    encode_sampling_response,
)
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.collector.intake import Intake, QueueFullError
from pyjaeger.sampling.json import to_proto_dict
from pyjaeger.sampling.provider import StrategyProvider

__all__ = ["api_v2_grpc_handlers", "COLLECTOR_SERVICE", "SAMPLING_SERVICE"]


def api_v2_grpc_handlers(processor: Intake, provider: StrategyProvider) -> list[Any]:
    async def post_spans(request: bytes, context: Any) -> bytes:
        try:
            processor.check_room("proto", "grpc")
        except QueueFullError as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        try:
            spans = decode_post_spans(request)
        except DecodeError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        try:
            screened = await processor.accept(spans, "proto", "grpc")
        except QueueFullError as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        if screened.rejected and not screened.spans:
            message = rejection_message(screened.rejected, screened.reason)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        return b""  # an empty PostSpansResponse

    async def get_sampling_strategy(request: bytes, context: Any) -> bytes:
        try:
            service = decode_sampling_request(request)
        except DecodeError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        return encode_sampling_response(to_proto_dict(provider.get(service)))

    return [
        grpc.method_handlers_generic_handler(
            COLLECTOR_SERVICE, {"PostSpans": grpc.unary_unary_rpc_method_handler(post_spans)}
        ),
        grpc.method_handlers_generic_handler(
            SAMPLING_SERVICE,
            {"GetSamplingStrategy": grpc.unary_unary_rpc_method_handler(get_sampling_strategy)},
        ),
    ]
