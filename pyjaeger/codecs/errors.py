"""The one exception every codec raises on bytes it cannot decode.

Receivers map it to HTTP 400 / gRPC INVALID_ARGUMENT. Content that decodes but is odd (a span
with a zero id, a missing service name) is not an error: codecs count, warn or sanitize instead.
"""

from __future__ import annotations

__all__ = ["DecodeError"]


class DecodeError(ValueError):
    """The payload is not a well-formed message; the text names the field, offset and reason."""
