"""Retention of the sqlite store: by age of span start time, and by database size.

Runs on the writer thread between write transactions, one bounded step per call, each step its
own short transaction:
- a partition (a UTC day) whose newest span is older than the cutoff is dropped whole;
- a partition holding spans on both sides of the cutoff loses its blocks (schema.py) that are
  wholly older one at a time (with its tag rows), then its remaining older spans `batch` at a
  time;
- with `max_size`, the disk footprint (the file and its WAL) stays under it: while the data and
  the WAL beside it pass `target`, the oldest partition is dropped whole, or, when only one is
  left, its oldest block; while the file and the WAL pass it, the file gives its free pages back
  to the file system (incremental vacuum). The WAL is checkpointed every `wal_limit` bytes and
  truncated to that after, and the writer keeps its transactions to `txn_spans`, so the WAL
  stays a small share.

Pages freed by a deletion go to SQLite's freelist and new writes reuse them, so a store at its
bound neither grows nor moves pages back and forth. The writer asks `over_size` after every
transaction, so retention keeps up with ingest at the collector's full rate.
"""

from __future__ import annotations

import os
import sqlite3
import time

from pyjaeger.storage.sqlite.schema import drop_partition, partition_name

__all__ = ["Retention", "used_bytes", "footprint"]

Partitions = dict[int, list[int]]  # day → [min start, max start]
_INCREMENTAL = 2  # PRAGMA auto_vacuum


def used_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def footprint(path: str) -> int:
    """Bytes the store takes on disk: the file and its WAL."""
    return _size(path) + _size(path + "-wal")


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Retention:
    def __init__(self, max_age: int, max_size: int, batch: int = 2000, path: str = "") -> None:
        self.max_age = max_age  # µs
        self.max_size = max_size  # bytes, 0: none
        self.batch = batch
        self.path = path
        # The footprint is held under `target`, the rest of max_size being room for what a
        # transaction writes between two checks; the WAL is checkpointed every `wal_limit`
        # bytes and truncated to that after, and a write transaction holds at most `txn_spans`.
        self.target = int(max_size * 0.92)
        self.wal_limit = min(max(max_size // 20, 256 * 1024), 40 * 1024 * 1024) if max_size else 0
        self.txn_spans = max(500, max_size // 10_000) if max_size else 0
        self.wal_peak = 0

    def over_size(self, conn: sqlite3.Connection) -> bool:
        """Whether a size step is due (cheap: two PRAGMAs and two stats)."""
        return bool(self.max_size) and self._size_step(conn) != ""

    def _size_step(self, conn: sqlite3.Connection) -> str:
        """What to do next: "delete" while the data and the WAL beside it pass the target,
        "vacuum" while the file and the WAL do and the file has free pages to give back, else
        "". The WAL counts at its recent peak (a busy writer's transactions and the checkpoints
        behind them), which decays slowly once writes calm down."""
        wal = _size(self.path + "-wal") if self.path else 0
        self.wal_peak = wal = max(wal, int(self.wal_peak * 0.995))
        if used_bytes(conn) + wal > self.target:
            return "delete"
        if self.path and _size(self.path) + wal > self.target and _free_pages(conn):
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == _INCREMENTAL:
                return "vacuum"
        return ""

    def step(self, conn: sqlite3.Connection, partitions: Partitions, now: int | None = None) -> bool:
        """One bounded step; True when there may be more to do. `partitions` is the writer's
        view, kept up to date here."""
        if not partitions:
            return False
        cutoff = (time.time_ns() // 1000 if now is None else now) - self.max_age
        oldest = min(partitions)
        for day in sorted(partitions):
            lo, hi = partitions[day]
            if hi < cutoff:
                self._drop(conn, partitions, day)
                return True
            if lo < cutoff:
                return self._delete_oldest(conn, partitions, day, cutoff)
        if not self.max_size:
            return False
        todo = self._size_step(conn)
        if todo == "delete":
            if len(partitions) > 1:
                self._drop(conn, partitions, oldest)
                return True
            return self._delete_oldest(conn, partitions, oldest, None)
        if todo == "vacuum":
            self._give_back(conn)
            return True
        return False

    def _give_back(self, conn: sqlite3.Connection) -> None:
        """Free pages over the target returned to the file system, a bounded number a step."""
        excess = _size(self.path) + self.wal_peak - self.target
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = max(1, min(_free_pages(conn), -(-excess // page), 4096))
        # executescript steps the pragma to its end; execute() would free one page only.
        conn.executescript(f"PRAGMA incremental_vacuum({pages});")

    def _drop(self, conn: sqlite3.Connection, partitions: Partitions, day: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            drop_partition(conn, day)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        del partitions[day]

    def _delete_oldest(
        self, conn: sqlite3.Connection, partitions: Partitions, day: int, cutoff: int | None
    ) -> bool:
        """Deletes the partition's oldest block (only one wholly before `cutoff` when given), or
        else its spans before `cutoff`, up to `batch` of them."""
        n = partition_name(day)
        conn.execute("BEGIN IMMEDIATE")
        try:
            sql = f"SELECT block, first_id, last_id FROM blocks_{n}"
            if cutoff is None:
                block = conn.execute(sql + " ORDER BY min_start LIMIT 1").fetchone()
            else:
                block = conn.execute(
                    sql + " WHERE max_start < ? ORDER BY min_start LIMIT 1", (cutoff,)
                ).fetchone()
            if block is not None:
                deleted = self._delete_block(conn, n, *block)
            else:
                # Spans of a block that straddles the cutoff: their tag rows stay (search checks
                # every hit against the spans) until the block or the partition goes.
                sql = f"DELETE FROM spans_{n} WHERE id IN (SELECT id FROM spans_{n} WHERE start < ? LIMIT ?)"
                deleted = conn.execute(sql, (cutoff, self.batch)).rowcount
            lo, hi = conn.execute(f"SELECT min(start), max(start) FROM spans_{n}").fetchone()
            if lo is None:
                drop_partition(conn, day)
            else:
                sql = "UPDATE partitions SET min_start = ?, max_start = ? WHERE day = ?"
                conn.execute(sql, (lo, hi, day))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if lo is None:
            del partitions[day]
        else:
            partitions[day] = [lo, hi]
        return deleted > 0 or block is not None

    def _delete_block(self, conn: sqlite3.Connection, n: str, block: int, first: int, last: int) -> int:
        conn.execute(f"DELETE FROM tags_{n} WHERE block = ?", (block,))
        conn.execute(f"DELETE FROM blocks_{n} WHERE block = ?", (block,))
        return int(conn.execute(f"DELETE FROM spans_{n} WHERE id BETWEEN ? AND ?", (first, last)).rowcount)


def _free_pages(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])
