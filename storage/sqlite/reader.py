"""Queries of the sqlite store: plain functions on a read connection, run on the read pool.

Every function reads inside one transaction, so it sees one snapshot of the WAL: a partition the
writer drops meanwhile stays readable until the function ends.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
from collections.abc import Generator
from typing import Any

from pyjaeger.model import DependencyLink, Process, Trace
from pyjaeger.storage.base import Operation, TraceQuery
from pyjaeger.storage.links import LinkCounts, count_link_nodes, to_links
from pyjaeger.storage.sqlite.codec import (
    blob_has_tag,
    blob_parent_and_id,
    decode_blob,
    decode_span,
    tag_hash,
)
from pyjaeger.storage.sqlite.schema import Partition, list_partitions, partition_name

__all__ = ["get_trace", "get_services", "get_operations", "find_trace_ids", "find_traces", "get_dependencies"]

_COLUMNS = "trace_id, service, operation, start, duration, span"
# Forms of value_as_string for bool, int64, float64 (Go's %g, inf, NaN) and binary (hex).
_MAYBE_NOT_STRING = re.compile(r"true|false|[-+0-9.eE]+|[-+]?inf|NaN|[0-9a-f]*", re.ASCII)


class _Snapshot:
    """BEGIN … COMMIT around a read: one consistent view of every table."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("COMMIT")


def _trace_rows(conn: sqlite3.Connection, partitions: list[Partition], trace_id: bytes) -> list[Any]:
    if not partitions:
        return []
    sql = " UNION ALL ".join(
        f"SELECT {_COLUMNS} FROM spans_{partition_name(p[0])} WHERE trace_id = ?1" for p in partitions
    )
    return conn.execute(sql, (trace_id,)).fetchall()


def _decode_trace(rows: list[Any]) -> Trace | None:
    if not rows:
        return None
    processes: dict[tuple[str, bytes], Process] = {}
    return Trace([decode_span(r, processes) for r in rows])


def get_trace(conn: sqlite3.Connection, trace_id: int) -> Trace | None:
    with _Snapshot(conn):
        rows = _trace_rows(conn, list_partitions(conn), trace_id.to_bytes(16, "big"))
    return _decode_trace(rows)


def get_services(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT service FROM operations ORDER BY service")]


def get_operations(conn: sqlite3.Connection, service: str, span_kind: str) -> list[Operation]:
    sql = "SELECT name, kind FROM operations WHERE service = ?"
    args: tuple[str, ...] = (service,)
    if span_kind:
        sql += " AND kind = ?"
        args = (service, span_kind)
    return [Operation(name, kind) for name, kind in conn.execute(sql, args)]


def _in_window(p: Partition, start_min: int | None, start_max: int | None) -> bool:
    return (start_min is None or p[2] >= start_min) and (start_max is None or p[1] <= start_max)


def _conditions(q: TraceQuery) -> tuple[str, list[Any]]:
    """SQL conditions on a spans table for everything but the tags."""
    where: list[str] = []
    args: list[Any] = []
    for cond, value in (
        ("start >= ?", q.start_time_min),
        ("start <= ?", q.start_time_max),
        ("service = ?", q.service_name or None),
        ("operation = ?", q.operation_name or None),
        ("duration >= ?", q.duration_min),
        ("duration <= ?", q.duration_max),
    ):
        if value is not None:
            where.append(cond)
            args.append(value)
    return " AND ".join(where), args


def _newest_first(
    conn: sqlite3.Connection, partitions: list[Partition], q: TraceQuery
) -> Generator[Any, None, None]:
    """(start, trace_id, blob) of spans meeting every condition, newest first; no tags.

    A service without an operation is read as one stream per operation, through the
    (service, operation, start) index: a (service, start) index as well cost ~10% of ingest."""
    where, args = _conditions(q)
    if q.service_name and not q.operation_name:
        ops = conn.execute("SELECT DISTINCT name FROM operations WHERE service = ?", (q.service_name,))
        variants = [(f"{where} AND operation = ?", [*args, op]) for (op,) in ops]
    else:
        variants = [(where, args)]
    streams = [
        conn.execute(
            f"SELECT start, trace_id, span FROM spans_{partition_name(p[0])}"
            + (f" WHERE {w}" if w else "")
            + " ORDER BY start DESC",
            a,
        )
        for p in partitions
        for w, a in variants
    ]
    try:
        # Each stream comes newest first; merging them keeps that order across days and operations.
        yield from heapq.merge(*streams, key=lambda r: -r[0])
    finally:
        for cursor in streams:
            cursor.close()


def _needles(key: str, value: str) -> list[bytes]:
    """Bytes every blob holding the tag contains: a cheap test before decoding a block's spans.

    marshal writes a string's UTF-8 bytes in full at its first occurrence in a blob (later ones
    may be back-references), so the key is always there, and so is the value when the tag is a
    string. A value that may be another type's string form (true, 42, 1.5, ab12) is left out:
    marshal stores those types in binary."""
    out = [key.encode("utf-8", "surrogatepass")]
    if value and not _MAYBE_NOT_STRING.fullmatch(value):
        out.append(value.encode("utf-8", "surrogatepass"))
    return out


def _tagged_newest_first(
    conn: sqlite3.Connection, partitions: list[Partition], q: TraceQuery, tags: list[tuple[str, str]]
) -> Generator[Any, None, None]:
    """(start, trace_id, blob) of spans meeting every condition, newest first: the blocks whose
    tag index holds every tag's hash, read newest block first; a span is yielded once no block
    still unread can hold a newer one."""
    hashes = [tag_hash(k, v) for k, v in tags]
    needles = [n for k, v in tags for n in _needles(k, v)]
    where, args = _conditions(q)
    blocks: list[tuple[int, int, int, str]] = []  # max_start, first id, last id, partition
    for p in partitions:
        n = partition_name(p[0])
        sql = f"SELECT max_start, first_id, last_id FROM blocks_{n} b WHERE "
        sql += " AND ".join(
            [f"EXISTS (SELECT 1 FROM tags_{n} t WHERE t.block = b.block AND t.h = ?)"] * len(hashes)
        )
        block_args: list[Any] = list(hashes)
        if q.start_time_min is not None:
            sql += " AND max_start >= ?"
            block_args.append(q.start_time_min)
        if q.start_time_max is not None:
            sql += " AND min_start <= ?"
            block_args.append(q.start_time_max)
        blocks.extend((hi, first, last, n) for hi, first, last in conn.execute(sql, block_args))
    blocks.sort(reverse=True)
    found: list[tuple[int, bytes, bytes]] = []  # a heap on -start
    for i, (_, first, last, n) in enumerate(blocks):
        # NOT INDEXED: the id range is the narrow part; a (service, start) index would scan far more.
        sql = f"SELECT start, trace_id, span FROM spans_{n} NOT INDEXED WHERE id BETWEEN ? AND ?"
        sql += f" AND {where}" if where else ""
        for start, trace_id, blob in conn.execute(sql, [first, last, *args]):
            if not all(needle in blob for needle in needles):
                continue
            details = decode_blob(blob)
            if all(blob_has_tag(details, k, v) for k, v in tags):
                heapq.heappush(found, (-start, trace_id, blob))
        next_max = blocks[i + 1][0] if i + 1 < len(blocks) else None
        while found and (next_max is None or -found[0][0] >= next_max):
            neg_start, trace_id, blob = heapq.heappop(found)
            yield -neg_start, trace_id, blob


def _find(conn: sqlite3.Connection, q: TraceQuery) -> tuple[list[bytes], list[Partition]]:
    partitions = list_partitions(conn)
    in_window = [p for p in partitions if _in_window(p, q.start_time_min, q.start_time_max)]
    tags = list(q.tags.items())
    limit = q.num_traces if q.num_traces > 0 else None
    spans = _tagged_newest_first(conn, in_window, q, tags) if tags else _newest_first(conn, in_window, q)
    found: list[bytes] = []
    seen: set[bytes] = set()
    try:
        for _, trace_id, _ in spans:
            if trace_id in seen:
                continue
            seen.add(trace_id)
            found.append(trace_id)
            if limit is not None and len(found) >= limit:
                break
    finally:
        spans.close()
    return found, partitions


def find_trace_ids(conn: sqlite3.Connection, q: TraceQuery) -> list[int]:
    with _Snapshot(conn):
        found, _ = _find(conn, q)
    return [int.from_bytes(t, "big") for t in found]


def find_traces(conn: sqlite3.Connection, q: TraceQuery) -> list[Trace]:
    with _Snapshot(conn):
        found, partitions = _find(conn, q)
        rows = [_trace_rows(conn, partitions, t) for t in found]
    return [t for t in map(_decode_trace, rows) if t is not None]


def get_dependencies(conn: sqlite3.Connection, end_ts: int, lookback: int) -> list[DependencyLink]:
    """Links of every trace with a span in (end_ts - lookback, end_ts], counted over all its spans
    (the memory store's rule)."""
    start = end_ts - lookback
    counts: LinkCounts = {}
    with _Snapshot(conn):
        partitions = list_partitions(conn)
        trace_ids: set[bytes] = set()
        for p in partitions:
            if _in_window(p, start + 1, end_ts):
                n = partition_name(p[0])
                sql = f"SELECT DISTINCT trace_id FROM spans_{n} WHERE start > ? AND start <= ?"
                trace_ids.update(r[0] for r in conn.execute(sql, (start, end_ts)))
        for tid in sorted(trace_ids):
            trace_id = int.from_bytes(tid, "big")
            nodes = []
            for _, service, _, _, _, blob in _trace_rows(conn, partitions, tid):
                span_id, parent = blob_parent_and_id(trace_id, decode_blob(blob))
                nodes.append((span_id, parent, service))
            count_link_nodes(nodes, counts)
    return to_links(counts)
