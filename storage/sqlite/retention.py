"""Retention of the sqlite store: by age of span start time, and by database size.

Runs on the writer thread between write transactions, one bounded step per call, each step its
own short transaction:
- a partition (a UTC day) whose newest span is older than the cutoff is dropped whole;
- a partition holding spans on both sides of the cutoff loses its blocks (schema.py) that are
  wholly older one at a time (with its tag rows), then its remaining older spans `batch` at a
  time;
- with `max_size`, the disk footprint (the file and its WAL) stays under it: the WAL is kept to
  `wal_limit` (checkpoints every that many bytes, the file truncated to it after), the data to
  `data_limit` by dropping the oldest partition whole, or, when only one is left, its oldest
  block; and a file larger than `file_limit` (a burst, or a smaller `max_size` than before)
  gives its free pages back to the file system (incremental vacuum).

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
    total = 0
    for name in (path, path + "-wal"):
        try:
            total += os.path.getsize(name)
        except OSError:
            pass
    return total


class Retention:
    def __init__(self, max_age: int, max_size: int, batch: int = 2000, path: str = "") -> None:
        self.max_age = max_age  # µs
        self.max_size = max_size  # bytes, 0: none
        self.batch = batch
        self.path = path
        # The WAL's share of max_size, the file's, and the data's (the rest is room for what
        # a few transactions write between two checks).
        self.wal_limit = min(max(max_size // 20, 256 * 1024), 40 * 1024 * 1024) if max_size else 0
        self.file_limit = max_size - self.wal_limit
        self.data_limit = int(max_size * 0.85) - self.wal_limit

    def over_size(self, conn: sqlite3.Connection) -> bool:
        """Whether a size step is due (cheap: two PRAGMAs and a stat)."""
        if not self.max_size:
            return False
        if used_bytes(conn) > self.data_limit:
            return True
        if not self.path or os.path.getsize(self.path) <= self.file_limit or not _free_pages(conn):
            return False
        return bool(conn.execute("PRAGMA auto_vacuum").fetchone()[0] == _INCREMENTAL)

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
        if used_bytes(conn) > self.data_limit:
            if len(partitions) > 1:
                self._drop(conn, partitions, oldest)
                return True
            return self._delete_oldest(conn, partitions, oldest, None)
        return self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> bool:
        """Free pages past `file_limit` returned to the file system, a bounded number a step."""
        if not self.path or conn.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            return False
        excess = os.path.getsize(self.path) - self.file_limit
        free = _free_pages(conn)
        if excess <= 0 or not free:
            return False
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = min(free, -(-excess // page), 4096)
        # executescript steps the pragma to its end; execute() would free one page only.
        conn.executescript(f"PRAGMA incremental_vacuum({pages});")
        return pages < free and excess > pages * page

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
