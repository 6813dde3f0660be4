"""Plain-text HTTP answers, as Go's `http.Error` writes them: the message and a newline."""

from __future__ import annotations

from starlette.responses import Response

__all__ = ["text_response"]


def text_response(status: int, msg: str, headers: dict[str, str] | None = None) -> Response:
    """The message as plain text that no browser may sniff as anything else (a message can echo
    what the client sent)."""
    return Response(
        msg + "\n",
        status,
        {"X-Content-Type-Options": "nosniff", **(headers or {})},
        media_type="text/plain; charset=utf-8",
    )
