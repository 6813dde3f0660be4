"""The sqlite store's one writer: a thread with its own connection, fed by a queue.

`write_spans` calls hand their spans to the thread and await a future. The thread takes every
request waiting in the queue, writes them all in one transaction (group commit: concurrent calls
share the per-transaction cost, chiefly writing each touched page to the WAL once) and resolves
the futures only after COMMIT, so a write that returned is durable in the sense of
`synchronous=NORMAL` (see store.py). Between
transactions it runs the retention job in small steps, so writes never wait behind a long
deletion. Other work for the connection (a retention run a test asks for) goes through the same
queue as a function.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from pyjaeger.model import Process, Span
from pyjaeger.storage.base import StorageError
from pyjaeger.storage.sqlite.codec import PackedTags, TagHasher, encode_blob, pack_process, pack_tags
from pyjaeger.storage.sqlite.config import DAY_US
from pyjaeger.storage.sqlite.retention import Retention
from pyjaeger.storage.sqlite.schema import BLOCK_SPANS, create_partition, list_partitions, partition_name

__all__ = ["Writer"]

_TRANSIENT_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_PROTOCOL")
log = logging.getLogger(__name__)

_STOP = object()
_ROWS_PER_INSERT = 100  # x 7 columns, under SQLite's 32766 variables
_MAINTENANCE_INTERVAL = 10.0  # s between retention checks while the store is idle or busy
_SIZE_STEPS = 64  # retention steps in one turn while the store is over its size bound


class _Request:
    __slots__ = ("future", "loop", "payload")

    def __init__(self, payload: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.payload = payload
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled: its spans were written all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Writer:
    def __init__(self, conn: sqlite3.Connection, path: str, retention: Retention) -> None:
        self._conn = conn
        self._path = path
        self._retention = retention
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._hasher = TagHasher()
        self.partitions: dict[int, list[int]] = {d: [lo, hi] for d, lo, hi in list_partitions(conn)}
        self._next_id = self._max_id("id", "spans") + 1
        self._next_block = self._max_id("block", "blocks") + 1
        self._operations: set[tuple[str, str, str]] = set(conn.execute("SELECT * FROM operations"))
        self._process_cache: dict[int, tuple[Process, PackedTags, bytes]] = {}
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._last_maintenance = 0.0

    def _max_id(self, column: str, table: str) -> int:
        best = 0
        for day in self.partitions:
            row = self._conn.execute(f"SELECT max({column}) FROM {table}_{partition_name(day)}").fetchone()
            best = max(best, row[0] or 0)
        return best

    def start(self) -> None:
        self._thread.start()

    def submit(self, payload: Sequence[Span] | Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        """Spans to write, or a function to run on the writer's connection between transactions."""
        request = _Request(payload, asyncio.get_running_loop())
        self._queue.put(request)
        return request.future

    def stop(self) -> None:
        """Blocks until every request queued before has been handled and the thread has ended."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def close(self) -> None:
        """After `stop`."""
        self._conn.close()

    # --- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._maintenance_due())
            except queue.Empty:
                self._maintain()
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            writes: list[_Request] = []
            for item in batch:
                if item is _STOP:
                    stopping = True
                elif callable(item.payload):
                    self._flush(writes)
                    writes = []
                    self._call(item)
                else:
                    writes.append(item)
            for group in self._transactions(writes):
                self._flush(group)
                if self._retention.max_size and self._over_size():
                    self._maintain()
            if not stopping and self._maintenance_due() == 0:
                self._maintain()

    def _transactions(self, writes: list[_Request]) -> list[list[_Request]]:
        """The waiting writes grouped into transactions; with a size bound, of at most
        `txn_spans` spans each (a request larger than that goes alone), so that one commit
        cannot swell the WAL past its share."""
        limit = self._retention.txn_spans
        if not limit:
            return [writes] if writes else []
        groups: list[list[_Request]] = []
        size = limit
        for request in writes:
            n = len(request.payload)
            if size + n > limit:
                groups.append([])
                size = 0
            groups[-1].append(request)
            size += n
        return groups

    def _maintenance_due(self) -> float:
        return max(0.0, self._last_maintenance + _MAINTENANCE_INTERVAL - time.monotonic())

    def _over_size(self) -> bool:
        try:
            return self._retention.over_size(self._conn)
        except (sqlite3.Error, OSError):
            return False

    def _maintain(self) -> None:
        # Bounded steps per turn: a busy queue interleaves its transactions with them. Past the
        # size bound, steps go on (up to a limit) until the store is back under it, so that
        # retention keeps up with ingest at full rate.
        more = True
        for _ in range(_SIZE_STEPS):
            try:
                more = self._retention.step(self._conn, self.partitions)
            except sqlite3.Error:
                log.exception("sqlite storage at %s: retention step failed", self._path)
                more = False
            if not more or not self._over_size():
                break
        self._last_maintenance = 0.0 if more else time.monotonic()

    def _call(self, request: _Request) -> None:
        try:
            result = request.payload(self._conn)
        except BaseException as e:  # handed to the caller, who raises it
            request.loop.call_soon_threadsafe(_resolve, request.future, None, e)
        else:
            request.loop.call_soon_threadsafe(_resolve, request.future, result, None)

    def _flush(self, requests: list[_Request]) -> None:
        if not requests:
            return
        error: BaseException | None = None
        try:
            self._write([s for r in requests for s in r.payload])
        except sqlite3.OperationalError as e:
            # Locked, disk full, I/O: a later try may succeed, so the collector keeps the batch.
            # Anything else (a read-only file, a broken schema) would fail forever: not retried.
            name = getattr(e, "sqlite_errorname", "")
            transient = name.startswith(_TRANSIENT_ERRORS)
            error = StorageError(f"sqlite storage at {self._path}: write failed: {e}", transient=transient)
        except Exception as e:
            if len(requests) > 1:
                # A span the encoder refuses fails its own request, not the others it shared with.
                for r in requests:
                    self._flush([r])
                return
            error = StorageError(f"sqlite storage at {self._path}: write failed: {e}")
        for r in requests:
            r.loop.call_soon_threadsafe(_resolve, r.future, None, error)

    def _process(self, process: Process) -> tuple[Process, PackedTags, bytes]:
        # Codecs share one Process object per batch: most spans hit this identity cache.
        hit = self._process_cache.get(id(process))
        if hit is not None and hit[0] is process:
            return hit
        packed = pack_tags(process.tags)
        if len(self._process_cache) > 256:
            self._process_cache.clear()
        entry = self._process_cache[id(process)] = (process, packed, pack_process(packed))
        return entry

    def _write(self, spans: list[Span]) -> None:
        now = time.time_ns() // 1000
        lo_day = (now - self._retention.max_age) // DAY_US
        hi_day = now // DAY_US + 1
        per_day: dict[int, _Rows] = {}
        new_ops: set[tuple[str, str, str]] = set()
        ops, hashes_of, encode, pack = self._operations, self._hasher.hashes, encode_blob, pack_tags
        next_id = self._next_id
        for span in spans:
            start = span.start_time
            day = min(max(start // DAY_US, lo_day), hi_day)
            rows = per_day.get(day)
            if rows is None:
                rows = per_day[day] = _Rows()
            if rows.block_size == BLOCK_SPANS:
                rows.close_block()
            process = span.process
            _, ptags, ptags_blob = self._process(process)
            service = process.service_name
            tags = pack(span.tags)
            logs = tuple([(lg.timestamp, pack(lg.fields)) for lg in span.logs]) if span.logs else ()
            rows.spans.append(
                (
                    next_id,
                    span.trace_id.to_bytes(16, "big"),
                    service,
                    span.operation_name,
                    start,
                    span.duration,
                    encode(span, ptags_blob, tags, logs),
                )
            )
            rows.block_size += 1
            hashes = rows.hashes
            if id(ptags) not in rows.processes:
                rows.processes[id(ptags)] = ptags
                hashes_of(ptags, hashes)
            hashes_of(tags, hashes)
            for _, fields in logs:
                hashes_of(fields, hashes)
            op = (service, span.operation_name, span.span_kind)
            if op not in ops:
                new_ops.add(op)
            next_id += 1
        conn = self._conn
        next_block = self._next_block
        conn.execute("BEGIN IMMEDIATE")
        try:
            for day, rows in per_day.items():
                rows.close_block()
                known = self.partitions.get(day)
                if known is None:
                    create_partition(conn, day, rows.min_start)
                    known = [rows.min_start, rows.max_start]
                n = partition_name(day)
                _insert(conn, f"spans_{n}", 7, rows.spans)
                block_rows = []
                tag_rows = []
                for first, last, lo, hi, hashes in rows.blocks:
                    block_rows.append((next_block, first, last, lo, hi))
                    tag_rows.extend([(next_block, h) for h in sorted(hashes)])
                    next_block += 1
                _insert(conn, f"blocks_{n}", 5, block_rows)
                _insert(conn, f"tags_{n}", 2, tag_rows)
                if rows.min_start < known[0] or rows.max_start > known[1] or day not in self.partitions:
                    conn.execute(
                        "UPDATE partitions SET min_start = ?, max_start = ? WHERE day = ?",
                        (min(rows.min_start, known[0]), max(rows.max_start, known[1]), day),
                    )
            if new_ops:
                conn.executemany("INSERT OR IGNORE INTO operations VALUES (?, ?, ?)", sorted(new_ops))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # The partitions this transaction created are gone with it: forget what it learnt.
            self.partitions = {d: [lo, hi] for d, lo, hi in list_partitions(conn)}
            raise
        self._next_id = next_id
        self._next_block = next_block
        ops |= new_ops
        for day, rows in per_day.items():
            known = self.partitions.setdefault(day, [rows.min_start, rows.max_start])
            known[0], known[1] = min(rows.min_start, known[0]), max(rows.max_start, known[1])


def _insert(conn: sqlite3.Connection, table: str, width: int, rows: list[tuple[Any, ...]]) -> None:
    """INSERTs of up to _ROWS_PER_INSERT rows each. The sqlite3 module releases the GIL around
    each statement it steps and takes it back after: with one row per statement the writer
    queued for the GIL behind the event loop once per row, and ingest stalled on that."""
    for i in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[i : i + _ROWS_PER_INSERT]
        one = "(" + ", ".join("?" * width) + ")"
        sql = f"INSERT INTO {table} VALUES " + ", ".join([one] * len(chunk))
        conn.execute(sql, [value for row in chunk for value in row])


class _Rows:
    """One partition's share of a transaction: span rows and their blocks."""

    __slots__ = ("block_size", "blocks", "hashes", "max_start", "min_start", "processes", "spans")

    def __init__(self) -> None:
        self.spans: list[tuple[Any, ...]] = []
        self.blocks: list[tuple[int, int, int, int, set[int]]] = []  # first, last, min, max, hashes
        self.hashes: set[int] = set()
        # Process tags whose hashes are in `hashes`, by id; holding them keeps their ids unique.
        self.processes: dict[int, PackedTags] = {}
        self.block_size = 0
        self.min_start = 1 << 62
        self.max_start = -(1 << 62)

    def close_block(self) -> None:
        if not self.block_size:
            return
        rows = self.spans[-self.block_size :]
        lo = min([r[4] for r in rows])
        hi = max([r[4] for r in rows])
        self.blocks.append((rows[0][0], rows[-1][0], lo, hi, self.hashes))
        self.min_start = min(self.min_start, lo)
        self.max_start = max(self.max_start, hi)
        self.hashes = set()
        self.processes = {}
        self.block_size = 0
