"""Builds the configured backend's writer, readers, start-up and closing from config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pyjaeger.errors import ConfigError
from pyjaeger.storage.base import DependencyReader, SpanReader, SpanWriter
from pyjaeger.storage.config import StorageConfig

__all__ = ["Storage", "create_storage"]


async def _nothing() -> None:
    pass


@dataclass(slots=True)
class Storage:
    writer: SpanWriter
    reader: SpanReader
    dependencies: DependencyReader
    start: Callable[[], Awaitable[None]] = _nothing  # connect, install templates, ...
    close: Callable[[], Awaitable[None]] = field(default=_nothing)


def create_storage(config: StorageConfig, *, read_only: bool = False) -> Storage:
    """The backend's parts; call `await storage.start()` before use and `close()` after.

    `read_only`: the process only reads (`pyjaeger query`); an embedded store then leaves
    writing, schema changes and retention to the process that writes."""
    if config.span_storage_type == "memory":
        from pyjaeger.storage.memory import MemoryStore

        store = MemoryStore(max_traces=config.memory.max_traces)
        return Storage(store, store, store, close=store.close)
    if config.span_storage_type == "sqlite":
        from pyjaeger.storage.sqlite.store import SqliteStore

        db = SqliteStore(config.sqlite, read_only=read_only)
        return Storage(db, db, db, start=db.start, close=db.close)
    if config.span_storage_type == "elasticsearch":
        from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

        es = ElasticsearchStore(config.elasticsearch)
        return Storage(es, es, es, start=es.start, close=es.close)
    raise ConfigError(f"--span-storage.type: unknown storage type {config.span_storage_type!r}")
