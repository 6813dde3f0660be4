"""OTLP ingest shared by the gRPC servicer and the HTTP route: bytes in, queued spans out."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.limits import rejection_message
from pyjaeger.codecs.otlp import decode_export_request, encode_export_response
from pyjaeger.codecs.otlp_json import decode_export_json, encode_export_response_json
from pyjaeger.collector.intake import Intake

__all__ = ["OTLPIngest", "FORMAT"]

FORMAT = "otlp"  # the `format` label of collector metrics for this protocol


@dataclass(slots=True)
class OTLPIngest:
    processor: Intake

    async def export(self, body: bytes, *, json: bool, transport: str) -> bytes:
        """Decode and queue one export request; returns the response body to send.

        Raises `DecodeError` for undecodable bodies and for requests none of whose spans can be
        stored, and `QueueFullError` when the queue has no room; when only some spans are
        refused (invalid ids, times beyond int64) the answer is OTLP's partial success.
        """
        self.processor.check_room(FORMAT, transport)
        if not json:
            stored = self.processor.stored_decoder("otlp-proto")
            batch = stored(body) if stored is not None else None
            if batch is not None:
                message = rejection_message(batch.rejected, batch.first_reason)
                if batch.rejected and not batch.records:
                    self.processor.count_rejected(batch.rejected, FORMAT, transport)
                    raise DecodeError(message)
                await self.processor.accept_stored(batch, FORMAT, transport)
                return encode_export_response(batch.rejected, message)
        result = decode_export_json(body) if json else decode_export_request(body)
        self.processor.count_rejected(result.rejected, FORMAT, transport)
        screened = await self.processor.accept(result.spans, FORMAT, transport)
        rejected = result.rejected + screened.rejected
        message = rejection_message(rejected, result.first_reason or screened.reason)
        if rejected and not screened.spans:
            raise DecodeError(message)
        if json:
            return encode_export_response_json(rejected, message)
        return encode_export_response(rejected, message)
