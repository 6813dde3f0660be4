"""OTLP ingest shared by the gRPC servicer and the HTTP route: bytes in, queued spans out."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.codecs.otlp import decode_export_request, encode_export_response
from pyjaeger.codecs.otlp_json import decode_export_json, encode_export_response_json
from pyjaeger.collector.processor import SpanProcessor

__all__ = ["OTLPIngest", "FORMAT"]

FORMAT = "otlp"  # the `format` label of collector metrics for this protocol


@dataclass(slots=True)
class OTLPIngest:
    processor: SpanProcessor

    def export(self, body: bytes, *, json: bool, transport: str) -> bytes:
        """Decode and queue one export request; returns the response body to send.

        Raises `DecodeError` for undecodable bodies and `QueueFullError` when the queue has no
        room; spans with invalid ids are refused through OTLP's partial success.
        """
        self.processor.check_room(FORMAT, transport)
        result = decode_export_json(body) if json else decode_export_request(body)
        self.processor.count_rejected(result.rejected, FORMAT, transport)
        self.processor.submit(result.spans, FORMAT, transport)
        if json:
            return encode_export_response_json(result.rejected, result.error_message)
        return encode_export_response(result.rejected, result.error_message)
