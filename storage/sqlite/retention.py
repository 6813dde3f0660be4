"""Retention of the sqlite store: by age of span start time, and by database size.

Runs on the writer thread between write transactions, one bounded step per call, each step its
own short transaction:
- a partition (a UTC day) whose newest span is older than the cutoff is dropped whole;
- a partition holding spans on both sides of the cutoff loses its blocks (schema.py) that are
  wholly older one at a time (with its tag rows), then its remaining older spans `batch` at a
  time;
- while the data exceeds `max_size`, the oldest partition is dropped whole, or, when only one is
  left, its oldest block.

The size measured is the pages in use, (page_count - freelist_count) * page_size. Pages freed by
a deletion go to SQLite's freelist and new writes reuse them (auto_vacuum stays NONE): the file
keeps its high-water size but stops growing once retention deletes as much as is written.
Returning freed pages to the file system (incremental vacuum) would only move pages back and
forth for a store that keeps growing to the same size again.
"""

from __future__ import annotations

import sqlite3
import time

from pyjaeger.storage.sqlite.schema import drop_partition, partition_name

__all__ = ["Retention", "used_bytes"]

Partitions = dict[int, list[int]]  # day → [min start, max start]


def used_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


class Retention:
    def __init__(self, max_age: int, max_size: int, batch: int = 2000) -> None:
        self.max_age = max_age  # µs
        self.max_size = max_size  # bytes, 0: none
        self.batch = batch

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
        if self.max_size and used_bytes(conn) > self.max_size:
            if len(partitions) > 1:
                self._drop(conn, partitions, oldest)
                return True
            return self._delete_oldest(conn, partitions, oldest, None)
        return False

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
