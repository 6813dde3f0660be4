"""An ingest worker's `Intake`: batches go over the link to the process owning the processor.

What crosses is already in the storage's form: a stored decoder's `StoredBatch`, or model spans
packed by the memory store's `Packer` (the one form every backend reads back: the owner indexes
it when its store is the memory store, and unpacks it for the others). The worker screens and
sanitizes as the processor would, so the owner only counts and queues. A request is answered
once the owner has queued its spans (or refused them: the queue is full), so nothing a client was
told is stored exists only in a worker.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Callable
from typing import Protocol

from pyjaeger.codecs.limits import Screened, screen
from pyjaeger.collector.ingest_link import Link
from pyjaeger.collector.intake import Intake, QueueFullError
from pyjaeger.collector.processor import received_counts, sanitize
from pyjaeger.model import Span
from pyjaeger.storage.base import StoredBatch
from pyjaeger.storage.memory.packed import Packer
from pyjaeger.storage.memory.wire import agent_batch, otlp_batch, thrift_batch

__all__ = ["RemoteIntake", "SharedCount"]


class SharedCount(Protocol):
    """An integer in memory shared with the owner (`multiprocessing.RawValue`): written by this
    process only, so no lock (a worker killed while holding one would hang the owner)."""

    value: int


_DECODERS = {"otlp-proto": otlp_batch, "thrift-batch": thrift_batch, "thrift-agent": agent_batch}


class RemoteIntake(Intake):
    def __init__(self, link: Link, direct: bool, sent: SharedCount) -> None:
        """`direct`: the owner's storage takes the stored decoders' form (the memory store).
        `sent` counts the spans this process decoded and sent (counted before they go): the
        owner counts what it read, and if this process dies the difference was lost with it."""
        self._link = link
        self._packer = Packer()
        self._direct = direct
        self._pending: dict[int, asyncio.Future[str]] = {}
        self._ids = itertools.count(1)
        self._sent = sent
        self.queued = 0
        self.capacity = 1  # until the first reply says

    # The owner's answers, from the link's reader.
    def room(self, queued: int, capacity: int) -> None:
        """The owner's queue as it is now (with every reply, and whenever it fills or has room
        again): what `check_room` goes by."""
        self.queued, self.capacity = queued, capacity

    def reply(self, request: int, error: str, queued: int, capacity: int) -> None:
        self.room(queued, capacity)
        future = self._pending.pop(request, None)
        if future is not None and not future.done():
            future.set_result(error)

    def fail_pending(self, error: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_result(error)
        self._pending.clear()

    def check_room(self, fmt: str, transport: str) -> None:
        # The owner's queue as it last said: a refusal here only saves decoding what the owner
        # would refuse; the owner's own check is the one that counts.
        if self.queued >= self.capacity:
            self._link.send("refused", fmt, transport)
            raise QueueFullError(f"collector queue is full ({self.queued}/{self.capacity} spans)")

    def stored_decoder(self, wire: str) -> Callable[[bytes], StoredBatch | None] | None:
        decode = _DECODERS.get(wire) if self._direct else None
        return None if decode is None else functools.partial(decode, pack_process=self._packer.process)

    async def accept(self, spans: list[Span], fmt: str, transport: str) -> Screened:
        batch, screened = self.pack(spans)
        await self.accept_stored(batch, fmt, transport)
        return screened

    def pack(self, spans: list[Span]) -> tuple[StoredBatch, Screened]:
        """Decoded spans as the owner takes them: screened, sanitized, counted and packed."""
        screened = screen(spans)
        kept = screened.spans
        if not kept:
            return StoredBatch([], {}, {}, screened.rejected, screened.reason), screened
        sanitize(kept)
        counts, roots = received_counts(kept)
        pack = self._packer.pack
        return StoredBatch(
            [pack(s) for s in kept], counts, roots, screened.rejected, screened.reason
        ), screened

    def sending(self, n: int) -> None:
        """`n` spans are about to cross the link."""
        self._sent.value += n

    async def accept_stored(self, batch: StoredBatch, fmt: str, transport: str) -> None:
        if not self._link.is_open:
            raise QueueFullError("the collector is stopping")
        request = next(self._ids)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        self.sending(len(batch.records))
        try:
            self._link.send(
                "batch",
                request,
                fmt,
                transport,
                batch.records,
                batch.spans,
                batch.roots,
                batch.rejected,
                batch.first_reason,
            )
            error = await future
        finally:
            self._pending.pop(request, None)
        if error:
            raise QueueFullError(error)

    def count_rejected(self, n: int, fmt: str, transport: str) -> None:
        if n:
            self._link.send("rejected", n, fmt, transport)
