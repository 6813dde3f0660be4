"""The link between an ingest worker process and the process that owns the span processor.

One stream socket per worker (a socketpair made by the owner), carrying frames: a 4-byte length,
then a `marshal`led tuple whose first item names the message. `marshal` (C) is enough because
everything that crosses is plain data: the storage's stored form (`StoredBatch.records`) is
tuples of ints, strings and bytes by design. Frames are handled as they arrive, in the event
loop's callback, without a task or an await each: the owner reads thousands a second.

Worker → owner:
  ("ready", error)                      the worker's listeners are up ("") or why not
  ("batch", id, fmt, transport, records, spans, roots, rejected, reason)
                                        a request's spans; the owner answers ("reply", ...)
  ("rejected", n, fmt, transport)       spans a codec refused, to count
  ("refused", fmt, transport)           a request refused before decoding (queue full)
  ("udp", protocol, fmt, outcome, detail, records, spans, roots, rejected, reason)
                                        what became of a datagram the owner handed over
  ("metrics", samples)                  the worker's own metrics, cumulative
  ("stopped",)                          it stopped after ("stop",): the link ends next
Owner → worker:
  ("reply", id, error, queued, capacity) "" when the batch was queued, else why not
  ("room", queued, capacity)            the queue filled up, or has room again
  ("datagram", protocol, data)          a UDP datagram to decode
  ("stop",)                             stop taking requests, finish those in flight, exit
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import socket
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["Link", "open_link", "MAX_FRAME"]

log = logging.getLogger(__name__)

_HEAD = struct.Struct(">I")
MAX_FRAME = 1 << 30  # a batch is bounded by the request size limits long before this


class Link(asyncio.Protocol):
    def __init__(self, on_message: Callable[[tuple[Any, ...]], None]) -> None:
        self._on_message = on_message
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        pos, end = 0, len(buf)
        loads, on_message, head = marshal.loads, self._on_message, _HEAD
        try:
            while end - pos >= 4:
                (size,) = head.unpack_from(buf, pos)
                if size > MAX_FRAME:
                    raise ValueError(f"ingest link frame of {size} bytes")
                if end - pos - 4 < size:
                    break
                message = loads(memoryview(buf)[pos + 4 : pos + 4 + size])
                pos += 4 + size
                on_message(message)
        except Exception:
            log.exception("ingest link: a frame could not be handled; closing the link")
            self.close()
        finally:
            del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, *message: Any) -> None:
        if self._transport is None or self._transport.is_closing():
            return  # the other side is gone: what it would have been told no longer matters
        body = marshal.dumps(message, 4)
        self._transport.write(_HEAD.pack(len(body)) + body)

    def buffered(self) -> int:
        """Bytes written and not yet taken by the other side."""
        return self._transport.get_write_buffer_size() if self._transport is not None else 0

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def open_link(sock: socket.socket, on_message: Callable[[tuple[Any, ...]], None]) -> Link:
    loop = asyncio.get_running_loop()
    _, link = await loop.create_unix_connection(lambda: Link(on_message), sock=sock)
    return link
