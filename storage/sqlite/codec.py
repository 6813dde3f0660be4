"""Spans as the sqlite store keeps them: indexed columns beside one marshalled blob.

A span row is (id, trace_id, service, operation, start, duration, span): the columns search and
`get_trace` filter on, and a blob holding the rest. The blob is one format-version byte followed
by `marshal` (format version 4) of

    (span_id, flags, process_tags, tags, logs, refs, warnings)
    process_tags: bytes, itself the marshal of the process's tags, made once per process: a
                  bytes object is copied as is, where re-marshalling the tags cost ~15% of ingest
    tags: ((key, value_type, value), ...); logs: ((timestamp, tags), ...);
    refs: ((ref_type, trace_id, span_id), ...); warnings: (str, ...) or None

Why marshal for persistent data: it runs at C speed on both sides (the ingest path shares the
GIL with the event loop), and the blob holds only int, float, str, bytes, bool, None and tuples,
whose marshal encoding has not changed since format version 2 (Python 2.5) and which every later
CPython reads back (`marshal.loads` accepts all older format versions). The leading byte names our
layout, so a later release can switch a new layout (or protobuf) in and still read old rows.

Tag search goes through a hash index: every span tag, process tag and log field of a span gives
one 64-bit key (blake2b of `key NUL value-as-string`, stable across processes, unlike `hash`).
Hash hits are candidates only: search checks them against the decoded span.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Sequence
from hashlib import blake2b
from typing import Any

from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType, parent_position
from pyjaeger.storage.matching import as_string, has_tag

__all__ = [
    "FORMAT_V1",
    "Details",
    "encode_blob",
    "pack_tags",
    "pack_process",
    "PackedTags",
    "decode_blob",
    "decode_span",
    "tag_hash",
    "TagHasher",
    "blob_has_tag",
    "blob_parent_and_id",
]

FORMAT_V1 = 1
_V1 = bytes([FORMAT_V1])
_MARSHAL_VERSION = 4
_VALUE_TYPES = tuple(ValueType)
_REF_TYPES = tuple(SpanRefType)
_REF_NUMBER = {t: int(t) for t in SpanRefType}
_HASH_CACHE_LIMIT = 200_000

PackedTags = tuple[tuple[str, int, Any], ...]
Details = tuple[int, int, bytes, PackedTags, tuple[tuple[int, PackedTags], ...], tuple[Any, ...], Any]

_dumps = marshal.dumps
_loads = marshal.loads


_TYPE_NUMBER = {t: int(t) for t in ValueType}  # a dict hit is cheaper than IntEnum's int()


def pack_process(tags: PackedTags) -> bytes:
    return _dumps(tags, _MARSHAL_VERSION)


def pack_tags(kvs: list[KeyValue]) -> PackedTags:
    number = _TYPE_NUMBER
    return tuple([(kv.key, number[kv.v_type], kv.value) for kv in kvs])


def encode_blob(
    span: Span, process_tags: bytes, tags: PackedTags, logs: tuple[tuple[int, PackedTags], ...]
) -> bytes:
    """The blob of a span whose tags and logs the caller packed (`pack_tags`; the writer hashes
    the same tuples for the tag index) and whose process tags it marshalled (`pack_process`)."""
    details = (
        span.span_id,
        span.flags,
        process_tags,
        tags,
        logs,
        tuple([(_REF_NUMBER[r.ref_type], r.trace_id, r.span_id) for r in span.references]),
        tuple(span.warnings) if span.warnings else None,
    )
    return _V1 + _dumps(details, _MARSHAL_VERSION)


def decode_blob(blob: bytes) -> Details:
    if blob[0] != FORMAT_V1:
        raise ValueError(f"unknown span format {blob[0]} (written by a newer pyjaeger?)")
    return _loads(memoryview(blob)[1:])  # type: ignore[no-any-return]


def _unpack_tags(tags: PackedTags) -> list[KeyValue]:
    vt = _VALUE_TYPES
    return [KeyValue(k, vt[t], v) for k, t, v in tags]


def decode_span(row: Sequence[Any], processes: dict[tuple[str, bytes], Process] | None = None) -> Span:
    """A model span from (trace_id, service, operation, start, duration, blob); spans decoded with
    one `processes` dict share Process objects between equal processes."""
    trace_id, service, operation, start, duration, blob = row
    span_id, flags, ptags, tags, logs, refs, warnings = decode_blob(blob)
    key = (service, ptags)
    proc = None if processes is None else processes.get(key)
    if proc is None:
        proc = Process(service, _unpack_tags(_loads(ptags)))
        if processes is not None:
            processes[key] = proc
    rt = _REF_TYPES
    return Span(
        int.from_bytes(trace_id, "big"),
        span_id,
        operation,
        [SpanRef(rt[t], tid, sid) for t, tid, sid in refs],
        flags,
        start,
        duration,
        _unpack_tags(tags),
        [Log(ts, _unpack_tags(fields)) for ts, fields in logs],
        proc,
        list(warnings) if warnings is not None else None,
    )


def tag_hash(key: str, value: str) -> int:
    """The index key of a tag: a signed 64-bit int, as SQLite stores integers."""
    digest = blake2b(f"{key}\0{value}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class TagHasher:
    """`tag_hash` behind a bounded cache: most tag values repeat (kinds, methods, hosts)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, Any], int] = {}

    def hashes(self, tags: Iterable[tuple[str, int, Any]], out: set[int]) -> None:
        cache = self._cache
        for tag in tags:
            h = cache.get(tag)
            if h is None:
                try:
                    h = cache[tag] = tag_hash(tag[0], as_string(tag[1], tag[2]))
                except TypeError:  # an unhashable value (never from codecs): skip the cache
                    h = tag_hash(tag[0], as_string(tag[1], tag[2]))
                if len(cache) > _HASH_CACHE_LIMIT:
                    cache.clear()
            out.add(h)


def blob_has_tag(details: Details, key: str, value: str) -> bool:
    """The tag condition (`storage.matching.has_tag`) on a decoded blob."""
    return has_tag(key, value, (details[3], _loads(details[2])), details[4])


def blob_parent_and_id(trace_id: int, details: Details) -> tuple[int, int]:
    """(span id, parent span id or 0) by Jaeger's rule (`model.parent_position`)."""
    refs = details[5]
    at = parent_position(trace_id, refs)
    return details[0], refs[at][2] if at >= 0 else 0
