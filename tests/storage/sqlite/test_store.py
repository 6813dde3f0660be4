"""The sqlite store beyond the conformance suite: the file, reopening, read-only stores,
retention by age and size, errors naming the path, and closing with writes in flight."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pyjaeger.model import KeyValue, Process, Span, SpanRef, SpanRefType, ValueType
from pyjaeger.storage.base import StorageError, TraceQuery
from pyjaeger.storage.sqlite.config import DAY_US, SqliteConfig
from pyjaeger.storage.sqlite.retention import footprint, used_bytes
from pyjaeger.storage.sqlite.schema import APPLICATION_ID, SCHEMA_VERSION
from pyjaeger.storage.sqlite.store import SqliteStore

HOUR = 3600 * 1_000_000
NOW = time.time_ns() // 1000


def make_spans(trace_id: int, start: int, n: int = 3, service: str = "shop", pad: int = 0) -> list[Span]:
    """One trace of `n` spans (a root and its children), `pad` bytes of tag value each."""
    proc = Process(service, [KeyValue("host.name", ValueType.STRING, "host-1")])
    spans = []
    for i in range(n):
        refs = [SpanRef(SpanRefType.CHILD_OF, trace_id, 1)] if i else []
        tags = [
            KeyValue("span.kind", ValueType.STRING, "server"),
            KeyValue("i", ValueType.INT64, trace_id),
            KeyValue("pad", ValueType.STRING, f"{trace_id}-{i}-" + "x" * pad),
        ]
        spans.append(Span(trace_id, i + 1, f"op-{i}", refs, 1, start + i, 1000, tags, [], proc))
    return spans


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future[SqliteStore]]]:
    """`await open_store(**config)`: started stores on tmp_path/traces.db, closed at the end."""
    stores: list[SqliteStore] = []

    async def open_store(read_only: bool = False, **config: object) -> SqliteStore:
        cfg = SqliteConfig(path=str(config.pop("path", tmp_path / "traces.db")), **config)  # type: ignore[arg-type]
        store = SqliteStore(cfg, read_only=read_only)
        await store.start()
        stores.append(store)
        return store

    yield open_store  # type: ignore[misc]
    for store in stores:
        await store.close()


def _db(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


async def test_file_schema_and_pragmas(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    path = tmp_path / "deep" / "er" / "traces.db"
    store = await opened(path=path)
    await store.write_spans(make_spans(1, NOW))
    db = _db(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # incremental: a store bounded by --sqlite.max-size gives free pages back (retention.py)
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        day = time.strftime("%Y%m%d", time.gmtime(NOW // 1_000_000))
        assert {"partitions", "operations", f"spans_{day}", f"tags_{day}", f"blocks_{day}"} <= tables
        # write_spans returned: the spans are committed, another connection sees them.
        assert db.execute(f"SELECT count(*) FROM spans_{day}").fetchone()[0] == 3
    finally:
        db.close()


async def test_data_survives_close_and_reopen(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    first = await opened()
    spans = make_spans(7, NOW) + make_spans(8, NOW - 2 * DAY_US)
    await first.write_spans(spans)
    await first.close()
    again = await opened()
    trace = await again.get_trace(7)
    assert trace is not None and sorted(s.span_id for s in trace.spans) == [1, 2, 3]
    assert await again.find_trace_ids(TraceQuery("shop", tags={"i": "8"})) == [8]
    assert await again.get_services() == ["shop"]
    await again.write_spans(make_spans(9, NOW + 1))  # ids continue after the stored ones
    assert await again.find_trace_ids(TraceQuery("shop", num_traces=0)) == [9, 7, 8]


async def test_read_only_store_reads_another_stores_writes_and_never_writes(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    path = tmp_path / "traces.db"
    reader = await opened(read_only=True)
    assert await reader.get_services() == []  # no file yet: empty
    assert await reader.get_trace(1) is None
    assert not path.exists()
    with pytest.raises(StorageError, match="read-only"):
        await reader.write_spans(make_spans(1, NOW))

    writer = await opened()
    await writer.write_spans(make_spans(1, NOW))
    assert await reader.get_services() == ["shop"]
    await writer.write_spans(make_spans(2, NOW + 10))
    assert await reader.find_trace_ids(TraceQuery("shop")) == [2, 1]
    with pytest.raises(StorageError):
        await reader.run_retention()
    await writer.close()

    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert await reader.get_trace(2) is not None
    assert await reader.get_dependencies(NOW + DAY_US, 2 * DAY_US) == []
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


async def test_retention_by_age_deletes_old_spans_and_keeps_new_ones(
    opened: Callable[..., asyncio.Future[SqliteStore]],
) -> None:
    store = await opened(retention=HOUR)
    await store.write_spans(make_spans(1, NOW - 3 * HOUR))  # clamped into the oldest partition
    await store.write_spans(make_spans(2, NOW - 2 * HOUR))
    await store.write_spans(make_spans(3, NOW - 10 * 60 * 1_000_000) + make_spans(4, NOW - 2 * HOUR))
    await store.run_retention()
    assert await store.get_trace(1) is None
    assert await store.get_trace(2) is None
    assert await store.get_trace(4) is None  # deleted span by span: its block holds trace 3 too
    assert await store.get_trace(3) is not None
    assert await store.find_trace_ids(TraceQuery("shop", num_traces=0)) == [3]

    # Later, everything is old: whole partitions go; services and operations stay listed.
    await store.run_retention(now=NOW + 3 * HOUR)
    assert await store.get_trace(3) is None
    assert await store.find_trace_ids(TraceQuery("shop", num_traces=0)) == []
    assert await store.get_services() == ["shop"]


async def test_max_size_deletes_oldest_first_until_below(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    limit = 1_000_000
    store = await opened(max_size=limit)
    days = 3
    per_day = 60
    trace_id = 0
    for day in range(days, 0, -1):  # oldest day first, in three partitions
        for _ in range(per_day):
            trace_id += 1
            await store.write_spans(make_spans(trace_id, NOW - day * DAY_US + trace_id * 1000, pad=2000))
    db = _db(tmp_path / "traces.db")
    try:
        # Retention keeps up as the writes go: the data never had to wait for a run to shrink.
        assert used_bytes(db) <= limit
        await store.run_retention()
        assert used_bytes(db) <= limit
        assert footprint(str(tmp_path / "traces.db")) <= limit * 1.1
    finally:
        db.close()
    kept = await store.find_trace_ids(TraceQuery("shop", num_traces=0))
    assert kept and kept == list(range(trace_id, trace_id - len(kept), -1))  # the newest ones
    assert await store.get_trace(1) is None


async def test_max_size_within_one_partition(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    limit = 600_000
    store = await opened(max_size=limit)
    for trace_id in range(1, 201):
        await store.write_spans(make_spans(trace_id, NOW - HOUR + trace_id * 1000, pad=2000))
    await store.run_retention()
    db = _db(tmp_path / "traces.db")
    try:
        assert used_bytes(db) <= limit
    finally:
        db.close()
    kept = await store.find_trace_ids(TraceQuery("shop", num_traces=0))
    assert kept and kept == list(range(200, 200 - len(kept), -1))


async def test_file_stops_growing_when_retention_keeps_up(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    """Freed pages are reused: with retention deleting as much as is written, the file's page
    count levels off instead of growing with everything ever written."""
    limit = 400_000
    store = await opened(max_size=limit)
    db = _db(tmp_path / "traces.db")
    pages: list[int] = []
    trace_id = 0
    try:
        for _ in range(60):
            for _ in range(20):
                trace_id += 1
                await store.write_spans(make_spans(trace_id, NOW - HOUR + trace_id * 1000, pad=2000))
            await store.run_retention()
            pages.append(db.execute("PRAGMA page_count").fetchone()[0])
    finally:
        db.close()
    written = trace_id * 3 * 2000
    assert written > 10 * limit
    assert pages[-1] * 4096 < 3 * limit
    assert max(pages[30:]) <= max(pages[:30]) * 1.1, pages


def test_not_a_database_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    path.write_bytes(b"this is not a database, just some text " * 100)
    for read_only in (False, True):
        with pytest.raises(StorageError, match=str(path)):
            asyncio.run(_start_and_close(SqliteStore(SqliteConfig(path=str(path)), read_only=read_only)))


def test_foreign_database_names_the_path_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match=f"{path}.*another application"):
        asyncio.run(_start_and_close(SqliteStore(SqliteConfig(path=str(path)))))
    assert path.read_bytes() == before


def test_unwritable_path_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = blocker / "sub" / "traces.db"  # a folder cannot be made under a file
    with pytest.raises(StorageError, match=str(path)):
        asyncio.run(_start_and_close(SqliteStore(SqliteConfig(path=str(path)))))


async def _start_and_close(store: SqliteStore) -> None:
    try:
        await store.start()
    finally:
        await store.close()


async def test_close_commits_writes_in_flight(opened: Callable[..., asyncio.Future[SqliteStore]]) -> None:
    store = await opened()
    writes = [asyncio.create_task(store.write_spans(make_spans(t, NOW + t))) for t in range(1, 201)]
    await asyncio.sleep(0)  # every task has handed its spans to the writer
    await store.close()
    await asyncio.gather(*writes)
    again = await opened()
    assert len(await again.find_trace_ids(TraceQuery("shop", num_traces=0))) == 200


async def test_close_is_safe_twice_and_before_start(tmp_path: Path) -> None:
    never = SqliteStore(SqliteConfig(path=str(tmp_path / "never.db")))
    await never.close()
    await never.close()
    assert not (tmp_path / "never.db").exists()
    store = SqliteStore(SqliteConfig(path=str(tmp_path / "t.db")))
    await store.start()
    await store.close()
    await store.close()
    with pytest.raises(StorageError):
        await store.write_spans(make_spans(1, NOW))


async def test_a_bad_span_fails_its_own_write_only(
    opened: Callable[..., asyncio.Future[SqliteStore]],
) -> None:
    store = await opened()
    bad = make_spans(99, NOW)
    bad[0].tags.append(KeyValue("odd", ValueType.STRING, object()))  # type: ignore[arg-type]
    writes = [store.write_spans(make_spans(t, NOW + t)) for t in range(1, 6)]
    results = await asyncio.gather(*writes[:3], store.write_spans(bad), *writes[3:], return_exceptions=True)
    assert [type(r) for r in results] == [type(None)] * 3 + [StorageError] + [type(None)] * 2
    assert await store.get_trace(99) is None
    assert len(await store.find_trace_ids(TraceQuery("shop", num_traces=0))) == 5


async def test_read_only_store_opens_a_closed_writers_file(
    opened: Callable[..., asyncio.Future[SqliteStore]], tmp_path: Path
) -> None:
    writer = await opened()
    await writer.write_spans(make_spans(5, NOW))
    await writer.close()
    before = (tmp_path / "traces.db").read_bytes()
    reader = await opened(read_only=True)
    assert await reader.find_trace_ids(TraceQuery("shop")) == [5]
    await reader.close()
    # SQLite may leave the shared-memory index (-shm) and an empty WAL beside the file: no data.
    assert (tmp_path / "traces.db").read_bytes() == before
    wal = tmp_path / "traces.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
