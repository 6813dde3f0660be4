"""Where receivers hand what they decoded: the `Intake` interface.

In one process it is the span processor itself. With ingest worker processes
(`--collector.ingest-processes`), each worker's receivers hand their batches to a `RemoteIntake`
that carries them, already in the storage's form, to the process that owns the processor and
answers as the processor did (accepted, or the queue is full).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from pyjaeger.codecs.limits import Screened
from pyjaeger.model import Span
from pyjaeger.storage.base import StoredBatch

__all__ = ["Intake", "QueueFullError"]


class QueueFullError(Exception):
    """The queue has no room for the batch; the client should retry later."""


class Intake(abc.ABC):
    @abc.abstractmethod
    def check_room(self, fmt: str, transport: str) -> None:
        """Raise QueueFullError (after counting the refused request) when nothing more can be
        queued, so receivers refuse a request before spending CPU decoding it."""

    @abc.abstractmethod
    def stored_decoder(self, wire: str) -> Callable[[bytes], StoredBatch | None] | None:
        """The storage's own decoder of a wire format into its stored form, if it has one: the
        receiver decodes with it instead of the codec (`storage.base.StoredForm`)."""

    @abc.abstractmethod
    async def accept(self, spans: list[Span], fmt: str, transport: str) -> Screened:
        """Refuse the spans no backend can store (counted and logged) and queue the rest;
        QueueFullError (after counting it) when there is no room."""

    @abc.abstractmethod
    async def accept_stored(self, batch: StoredBatch, fmt: str, transport: str) -> None:
        """`accept` for a batch a stored decoder made; QueueFullError when there is no room."""

    @abc.abstractmethod
    def count_rejected(self, n: int, fmt: str, transport: str) -> None:
        """Spans a codec refused as invalid (partial success)."""
