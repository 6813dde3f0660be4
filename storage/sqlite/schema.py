"""The sqlite store's schema: opening a file, checking it is ours, and the daily partitions.

Tables:
  partitions(day, min_start, max_start)   one row per daily partition, with the start-time range
                                          it holds (search and retention prune by it)
  operations(service, name, kind)         the service/operation list, kept past retention
  spans_<YYYYMMDD>(id, trace_id, service, operation, start, duration, span)
      indexes: trace_id; (service, operation, start); (start)
  blocks_<YYYYMMDD>(block, first_id, last_id, min_start, max_start)
                                          the spans one transaction wrote to the partition, in
                                          runs of at most BLOCK_SPANS consecutive ids
  tags_<YYYYMMDD>(block, h)               tag index: per block, the 64-bit hashes of every tag
                                          its spans carry (span, process and log fields)

Why the tag index lists hashes per block rather than spans per hash: tag hashes are random
keys, and inserting random keys into a large B-tree dirties about one page per row. With a row
per (tag, span) every commit rewrote thousands of pages and ingest ran at a third of the target;
keyed by hash first, tag rows still cost a third of a span's write. Keyed by block first, rows go
to the end of the tree like the spans themselves. A block holds up to BLOCK_SPANS spans written
together, and its distinct hashes are far fewer than its spans' tags (hosts, kinds, methods,
status codes repeat). Search probes each block of the time window for the hashes (one primary
key lookup per block, ~1-2 µs in SQLite's C) and reads only the spans of blocks that have them.

A span goes to the partition of its start time's UTC day, clamped to [day of now - retention,
tomorrow] so that a skewed clock cannot create tables retention would never reach. Retention drops
a whole partition (two DROP TABLEs) instead of deleting rows one by one, as Elasticsearch's daily
indices are deleted whole. Span ids (`id`) are assigned by the one writer, increasing across
partitions.

The file is marked with `application_id` and its layout with `user_version`, so that a foreign
database is refused instead of altered.
"""

from __future__ import annotations

import datetime
import sqlite3

from pyjaeger.storage.base import StorageError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "BLOCK_SPANS",
    "Partition",
    "connect",
    "check_schema",
    "create_schema",
    "create_partition",
    "drop_partition",
    "list_partitions",
    "partition_name",
]

APPLICATION_ID = 0x504A4754  # "PJGT"
SCHEMA_VERSION = 1
BLOCK_SPANS = 1000

Partition = tuple[int, int, int]  # (day since epoch, min start µs, max start µs)

_BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS partitions (
    day INTEGER PRIMARY KEY, min_start INTEGER NOT NULL, max_start INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    service TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY (service, name, kind)) WITHOUT ROWID;
"""


def partition_name(day: int) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).strftime("%Y%m%d")


def connect(path: str, *, read_only: bool, cache_kib: int) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any one thread at
    a time. Read-only connections open the file with mode=ro: they can never write it."""
    try:
        if read_only:
            uri = "file:" + path.replace("?", "%3f").replace("#", "%23") + "?mode=ro"
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, cached_statements=512
            )
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=512)
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.Error as e:
        raise StorageError(f"sqlite storage at {path}: cannot open: {e}") from None
    return conn


def check_schema(conn: sqlite3.Connection, path: str) -> bool:
    """True when the file holds our schema, False when it is empty (no tables yet); StorageError
    for a file that is not a database, another application's database or a newer layout."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise StorageError(f"sqlite storage at {path}: not a usable database: {e}") from None
    if app_id == 0 and tables == 0:
        return False
    if app_id != APPLICATION_ID:
        raise StorageError(
            f"sqlite storage at {path}: the file is a database of another application "
            f"(application_id {app_id:#x}); refusing to change it"
        )
    if version != SCHEMA_VERSION:
        raise StorageError(
            f"sqlite storage at {path}: schema version {version}, this pyjaeger reads version "
            f"{SCHEMA_VERSION}"
        )
    return True


def create_schema(conn: sqlite3.Connection) -> None:
    """Incremental auto-vacuum (set before anything else, or SQLite ignores it), WAL mode and
    the base tables, on a writer's connection."""
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _BASE_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def create_partition(conn: sqlite3.Connection, day: int, start: int) -> None:
    """Inside the writer's open transaction."""
    n = partition_name(day)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS spans_{n} (id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, "
        "service TEXT NOT NULL, operation TEXT NOT NULL, start INTEGER NOT NULL, "
        "duration INTEGER NOT NULL, span BLOB NOT NULL)"
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS spans_{n}_trace ON spans_{n} (trace_id)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS spans_{n}_operation ON spans_{n} (service, operation, start)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS spans_{n}_start ON spans_{n} (start)")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS blocks_{n} (block INTEGER PRIMARY KEY, first_id INTEGER NOT NULL, "
        "last_id INTEGER NOT NULL, min_start INTEGER NOT NULL, max_start INTEGER NOT NULL)"
    )
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS tags_{n} (block INTEGER NOT NULL, h INTEGER NOT NULL, "
        "PRIMARY KEY (block, h)) WITHOUT ROWID"
    )
    conn.execute("INSERT OR IGNORE INTO partitions VALUES (?, ?, ?)", (day, start, start))


def drop_partition(conn: sqlite3.Connection, day: int) -> None:
    """Inside the writer's open transaction."""
    n = partition_name(day)
    conn.execute(f"DROP TABLE IF EXISTS spans_{n}")
    conn.execute(f"DROP TABLE IF EXISTS tags_{n}")
    conn.execute(f"DROP TABLE IF EXISTS blocks_{n}")
    conn.execute("DELETE FROM partitions WHERE day = ?", (day,))


def list_partitions(conn: sqlite3.Connection) -> list[Partition]:
    """Newest day first."""
    return conn.execute("SELECT day, min_start, max_start FROM partitions ORDER BY day DESC").fetchall()
