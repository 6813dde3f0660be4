"""Builds the configured backend's writer, readers and closer from config."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.config import ConfigError, StorageConfig
from pyjaeger.storage.base import DependencyReader, SpanReader, SpanWriter

__all__ = ["Storage", "create_storage"]


@dataclass(slots=True)
class Storage:
    writer: SpanWriter
    reader: SpanReader
    dependencies: DependencyReader
    _closers: tuple[object, ...] = ()

    async def close(self) -> None:
        for c in self._closers:
            close = getattr(c, "close", None)
            if close is not None:
                await close()


def create_storage(config: StorageConfig) -> Storage:
    if config.span_storage_type == "memory":
        from pyjaeger.storage.memory import MemoryStore

        store = MemoryStore(max_traces=config.memory.max_traces)
        return Storage(store, store, store, (store,))
    raise ConfigError(f"--span-storage.type: unknown storage type {config.span_storage_type!r}")
