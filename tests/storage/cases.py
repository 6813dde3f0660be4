"""The conformance suite's data: the spans every backend stores and what each query must return.

Loaded by `test_conformance.py` from its path (there is no package to import it from).

Times: `T0` is a whole minute about an hour ago, so that backends reading only recent data
(Elasticsearch reads the last 72h, sqlite may retain by age) still hold it. In each data set the
traces start at least 10 ms apart and each lasts a few ms or stays within a second of its own
start, well clear of the next trace, so "newest first" gives one order whichever start time a
backend sorts by: the trace's first stored span, its earliest span or its latest span.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyjaeger.model import (
    FLAG_DEBUG,
    FLAG_SAMPLED,
    MAX_SPAN_ID,
    MAX_TRACE_ID,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
)
from pyjaeger.storage.base import Operation, TraceQuery

MS = 1_000
SEC = 1_000_000
T0 = (int(time.time()) // 60 * 60 - 3600) * SEC

# ---------------------------------------------------------------------------------------------
# Builders

Tags = Mapping[str, str | bool | int | float | bytes] | Sequence[tuple[str, str | bool | int | float | bytes]]


def kv(key: str, value: str | bool | int | float | bytes) -> KeyValue:
    """A KeyValue typed from the Python value (bool before int: bool is an int subclass)."""
    if isinstance(value, bool):
        return KeyValue(key, ValueType.BOOL, value)
    if isinstance(value, int):
        return KeyValue(key, ValueType.INT64, value)
    if isinstance(value, float):
        return KeyValue(key, ValueType.FLOAT64, value)
    if isinstance(value, str):
        return KeyValue(key, ValueType.STRING, value)
    return KeyValue(key, ValueType.BINARY, bytes(value))


def kvs(tags: Tags) -> list[KeyValue]:
    """A list of KeyValues; pass pairs instead of a dict to repeat a key."""
    items = tags.items() if isinstance(tags, Mapping) else tags
    return [kv(k, v) for k, v in items]


def proc(service: str, tags: Tags = ()) -> Process:
    return Process(service, kvs(tags))


def child_of(trace: int, span_id: int) -> SpanRef:
    return SpanRef(SpanRefType.CHILD_OF, trace, span_id)


def follows(trace: int, span_id: int) -> SpanRef:
    return SpanRef(SpanRefType.FOLLOWS_FROM, trace, span_id)


def span(
    trace: int,
    span_id: int,
    process: Process,
    op: str,
    *,
    start: int,
    dur: int,
    parent: int | None = None,
    kind: str | None = None,
    tags: Tags = (),
    logs: Sequence[tuple[int, Tags]] = (),
    refs: Sequence[SpanRef] = (),
    flags: int = FLAG_SAMPLED,
    warnings: list[str] | None = None,
) -> Span:
    """One span. `parent` becomes a first CHILD_OF reference; `kind` a first `span.kind` tag."""
    tag_list = [kv("span.kind", kind)] if kind is not None else []
    references = [child_of(trace, parent)] if parent is not None else []
    return Span(
        trace_id=trace,
        span_id=span_id,
        operation_name=op,
        references=references + list(refs),
        flags=flags,
        start_time=start,
        duration=dur,
        tags=tag_list + kvs(tags),
        logs=[Log(ts, kvs(fields)) for ts, fields in logs],
        process=process,
        warnings=warnings,
    )


def traces_of(writes: Sequence[Sequence[Span]]) -> dict[int, list[Span]]:
    """Trace id → every span written for it, in write order."""
    out: dict[int, list[Span]] = {}
    for batch in writes:
        for s in batch:
            out.setdefault(s.trace_id, []).append(s)
    return out


# ---------------------------------------------------------------------------------------------
# The main data set: six traces of five services, written in seven mixed-up batches.

FE1 = proc("frontend", {"hostname": "fe-1", "ip": "10.0.0.1", "pid": 4242})
FE2 = proc("frontend", {"hostname": "fe-2", "ip": "10.0.0.2", "pid": 4343})
PAY1 = proc("payment", {"hostname": "pay-1", "region": "eu-west-1"})
PAY2 = proc("payment", {"hostname": "pay-2", "region": "us-east-1"})
INV1 = proc("inventory", {"hostname": "inv-1"})
INV2 = proc("inventory", {"hostname": "inv-2", "canary": True})
DB1 = proc("mysql", {"hostname": "db-1", "mysql.version": "8.0.36"})
WORKER = proc("worker", {"hostname": "worker-1", "queue.lag": 0.75})

CHECKOUT = 0xC01  # 64-bit
HOME = 0x4BF92F3577B34DA6A3CE929D0E0E4736  # 128-bit
HEALTH = (1 << 64) | 0xC01  # 128-bit whose low half is CHECKOUT's id: ids must not be truncated
BATCH = 0xFFFFFFFFFFFFFFFF  # largest 64-bit id (negative as a signed int64)
RESTOCK = MAX_TRACE_ID
CHECKOUT2 = 0xC02

# Ids that were never written, each a near miss of a stored one.
MISSING = {
    "unused 64-bit": 0xC03,
    "CHECKOUT with another high half": (2 << 64) | 0xC01,
    "HOME's low half alone": HOME & MAX_SPAN_ID,
    "HOME's high half alone": HOME >> 64,
}

# fmt: off
_t = T0 + 1 * SEC
c1 = span(CHECKOUT, 0x1, FE1, "GET /checkout", start=_t, dur=250 * MS, kind="server",
          tags={"http.method": "GET", "http.status_code": 200, "http.url": "https://shop.example/checkout?cart=42"},
          logs=[(_t + 1 * MS, {"event": "request received", "bytes": 512})])
c2 = span(CHECKOUT, 0x2, FE1, "HTTP POST /pay", start=_t + 10 * MS, dur=200 * MS, parent=0x1, kind="client",
          tags={"http.method": "POST", "peer.service": "payment"})
c3 = span(CHECKOUT, 0x3, PAY1, "POST /pay", start=_t + 20 * MS, dur=180 * MS, parent=0x2, kind="server",
          flags=FLAG_SAMPLED | FLAG_DEBUG,
          tags={"error": True, "payment.amount": 12.5, "card.valid": False},
          logs=[(_t + 30 * MS, {"event": "charge failed", "retry.count": 3, "error.object": b"\x01\x02"}),
                (_t + 150 * MS, {"event": "refund issued"})])
c4 = span(CHECKOUT, 0x4, PAY1, "SELECT payments", start=_t + 40 * MS, dur=45 * MS, parent=0x3, kind="client",
          tags={"db.type": "sql"})
c5 = span(CHECKOUT, 0x5, DB1, "query", start=_t + 42 * MS, dur=40 * MS, parent=0x4, kind="server",
          tags={"db.statement": "SELECT * FROM payments WHERE id = ?", "db.rows": -1})

_t = T0 + 2 * SEC
h1 = span(HOME, 0x1, FE2, "GET /", start=_t, dur=80 * MS, kind="server",
          tags={"http.method": "GET", "http.status_code": 404, "ratio": 3.14159265358979,
                "payload": b"\x00\xff\x10"})
h2 = span(HOME, 0x2, FE2, "GET /", start=_t + 5 * MS, dur=60 * MS, parent=0x1, kind="client",
          tags={"http.method": "GET"})
h3 = span(HOME, 0x3, INV1, "list items", start=_t + 15 * MS, dur=30 * MS, parent=0x2, kind="server",
          refs=[follows(HOME, 0x1)],
          logs=[(_t + 20 * MS, {"event": "cache miss", "cache.hit": False, "latency": 1.5e-07})])

_t = T0 + 3 * SEC
k1 = span(HEALTH, 0x1, FE1, "GET /health", start=_t, dur=1 * MS,  # no span.kind
          tags={"http.status_code": 200})

_t = T0 + 4 * SEC
b1 = span(BATCH, MAX_SPAN_ID, WORKER, "process-order", start=_t, dur=70 * MS, kind="consumer",
          refs=[follows(CHECKOUT, 0x2)],  # another trace's span: not a parent
          tags={"order.id": "A-17", "messaging.system": "kafka"})
b2 = span(BATCH, 0x2, WORKER, "cleanup", start=_t + 1 * MS, dur=5 * MS, parent=MAX_SPAN_ID,
          kind="bogus")  # not a Jaeger kind: the operation's kind is ""
b3 = span(BATCH, 0x3, INV1, "reserve", start=_t + 10 * MS, dur=45 * MS, parent=MAX_SPAN_ID, kind="server",
          tags={"items": 3})

_t = T0 + 5 * SEC
r1 = span(RESTOCK, 0x1, INV2, "reserve", start=_t, dur=70 * MS, kind="server",
          tags=[("items", 12), ("warehouse", "north"), ("warehouse", "south"), ("error", False)],
          warnings=["clock skew adjustment disabled"])
r2 = span(RESTOCK, 0x2, DB1, "query", start=_t + 3 * MS, dur=30 * MS, parent=0x1, kind="server", flags=0,
          tags={"db.statement": "UPDATE stock SET n = n - 1", "big": 2**63 - 1, "small": -(2**63),
                "note": "", "unicode": "café ☕", "fraction": 0.1, "huge": 1e300, "empty": b""})

_t = T0 + 6 * SEC
x1 = span(CHECKOUT2, 0x1, FE2, "GET /checkout", start=_t, dur=300 * MS, kind="server",
          tags={"http.method": "GET", "http.status_code": 500, "error": True})
x2 = span(CHECKOUT2, 0x2, PAY2, "POST /pay", start=_t + 30 * MS, dur=250 * MS, parent=0x1, kind="server",
          tags={"error": False, "payment.amount": 99.99})
# fmt: on

# Awkward tag data, one span: keys with dots (never split into objects: Jaeger keeps tags nested
# unless tags-as-fields is on), a 32 KiB value, unicode keys and values that must come back
# byte for byte (astral-plane emoji and a ZWJ sequence, a decomposed "é" that no backend may
# normalise, right-to-left text with a bidi mark), empty strings and typed values at their limits.
AWKWARD = 0xA3C0_FFEE_0000_0000_0000_0000_0000_0001
AWKWARD_OP = "GET /商品/🛒"
DOTTED_KEY = "http.request.header.x-forwarded.for"
LONG_VALUE = "0123456789abcdef" * 2048  # 32 KiB
FAMILY = "张伟 👨\u200d👩\u200d👧"
DECOMPOSED = "cafe\u0301"  # "café" with a combining acute accent
RTL = "\u200fשלום עולם، مرحبا"  # noqa: RUF001 (Hebrew letters are the point)
# fmt: off
AWK = proc("awkward", [
    (DOTTED_KEY, "203.0.113.7, 198.51.100.2"),
    ("region.שם", RTL),
    ("host.名前", "ホスト-1"),
    ("long.process.value", LONG_VALUE),
    ("empty", ""),
])
_t = T0 + 7 * SEC
w1 = span(AWKWARD, 0x1, AWK, AWKWARD_OP, start=_t, dur=3 * MS, kind="server",
          tags=[(DOTTED_KEY, "198.51.100.9"), ("http.request.header.x-empty", ""), ("用户", FAMILY),
                ("emoji.🔑", "🚀🔥"), ("long.value", LONG_VALUE), ("bidi", RTL), ("combining", DECOMPOSED),
                ("int.max.safe", 2**53 + 1), ("int.min", -(2**63)), ("float.tiny", 5e-324),
                ("float.neg", -1.25e-10), ("bool.true", True), ("bool.false", False),
                ("binary.all", bytes(range(256))), ("binary.empty", b""), ("", "empty key")],
          logs=[(_t + 1 * MS, [("event", DECOMPOSED), (DOTTED_KEY, "10.0.0.1"), ("message", LONG_VALUE),
                               ("ключ.имя", "значение ✓"), ("blank", ""), ("n", 7), ("ok", True),
                               ("ratio", 0.5), ("raw", b"\x00\xfe")])])
# fmt: on

# Children before parents, traces split over calls, two traces in one call.
WRITES: list[list[Span]] = [
    [c5, c3],
    [h1, c1],
    [k1],
    [h3, h2, b3],
    [b1, b2, r2],
    [c4, c2, r1],
    [x2, x1],
    [w1],
]
TRACES = traces_of(WRITES)
TRACE_NAMES = {
    CHECKOUT: "CHECKOUT",
    HOME: "HOME",
    HEALTH: "HEALTH",
    BATCH: "BATCH",
    RESTOCK: "RESTOCK",
    CHECKOUT2: "CHECKOUT2",
    AWKWARD: "AWKWARD",
}

SERVICES = ["awkward", "frontend", "inventory", "mysql", "payment", "worker"]

OPERATIONS: dict[str, set[Operation]] = {
    "frontend": {
        Operation("GET /checkout", "server"),
        Operation("HTTP POST /pay", "client"),
        Operation("GET /", "server"),
        Operation("GET /", "client"),
        Operation("GET /health", ""),
    },
    "payment": {Operation("POST /pay", "server"), Operation("SELECT payments", "client")},
    "inventory": {Operation("list items", "server"), Operation("reserve", "server")},
    "mysql": {Operation("query", "server")},
    "worker": {Operation("process-order", "consumer"), Operation("cleanup", "")},  # "bogus" kind → ""
    "awkward": {Operation(AWKWARD_OP, "server")},
}


@dataclass(frozen=True, slots=True)
class OperationsCase:
    caption: str
    service: str
    span_kind: str
    expected: frozenset[Operation]


def _ops(service: str, kind: str = "") -> OperationsCase:
    ops = OPERATIONS.get(service, set())
    expected = frozenset(o for o in ops if not kind or o.span_kind == kind)
    return OperationsCase(f"{service or '(empty)'} kind={kind or 'any'}", service, kind, expected)


OPERATIONS_CASES = [
    *(_ops(s) for s in SERVICES),
    _ops("frontend", "server"),
    _ops("frontend", "client"),
    _ops("frontend", "producer"),
    _ops("worker", "consumer"),
    _ops("payment", "internal"),
    _ops("nope"),
    _ops("nope", "server"),
    _ops("Frontend"),
]


@dataclass(frozen=True, slots=True)
class SearchCase:
    caption: str
    query: TraceQuery
    expected: tuple[int, ...]  # trace ids, newest first


def q(
    caption: str,
    expected: Sequence[int],
    service: str,
    op: str = "",
    tags: Mapping[str, str] | None = None,
    start_min: int | None = None,
    start_max: int | None = None,
    dur_min: int | None = None,
    dur_max: int | None = None,
    limit: int = 100,
) -> SearchCase:
    query = TraceQuery(service, op, dict(tags or {}), start_min, start_max, dur_min, dur_max, limit)
    return SearchCase(caption, query, tuple(expected))


_b3 = b3.start_time
_c2 = c2.start_time
_c3 = c3.start_time
_x2 = x2.start_time
_ALL_FRONTEND = [CHECKOUT2, HEALTH, HOME, CHECKOUT]

# fmt: off
SEARCH_CASES = [
    # service only
    q("frontend", _ALL_FRONTEND, "frontend"),
    q("payment", [CHECKOUT2, CHECKOUT], "payment"),
    q("inventory", [RESTOCK, BATCH, HOME], "inventory"),
    q("mysql", [RESTOCK, CHECKOUT], "mysql"),
    q("worker", [BATCH], "worker"),
    q("unknown service", [], "nope"),
    q("service is case-sensitive", [], "Frontend"),
    # service + operation
    q("frontend GET /checkout", [CHECKOUT2, CHECKOUT], "frontend", "GET /checkout"),
    q("frontend GET / (server and client)", [HOME], "frontend", "GET /"),
    q("payment POST /pay", [CHECKOUT2, CHECKOUT], "payment", "POST /pay"),
    q("inventory reserve", [RESTOCK, BATCH], "inventory", "reserve"),
    q("worker cleanup (invalid kind)", [BATCH], "worker", "cleanup"),
    q("operation of another service", [], "frontend", "POST /pay"),
    q("unknown operation", [], "frontend", "GET /nope"),
    # span tags, matched by the value's string form (Jaeger's AsString)
    q("int tag", [HEALTH, CHECKOUT], "frontend", tags={"http.status_code": "200"}),
    q("int tag 404", [HOME], "frontend", tags={"http.status_code": "404"}),
    q("int tag: whole value only", [], "frontend", tags={"http.status_code": "20"}),
    q("negative int tag", [CHECKOUT], "mysql", tags={"db.rows": "-1"}),
    q("int64 max tag", [RESTOCK], "mysql", tags={"big": "9223372036854775807"}),
    q("int64 min tag", [RESTOCK], "mysql", tags={"small": "-9223372036854775808"}),
    q("bool tag error=true", [CHECKOUT], "payment", tags={"error": "true"}),
    q("bool tag error=false", [CHECKOUT2], "payment", tags={"error": "false"}),
    q("bool tag on frontend", [CHECKOUT2], "frontend", tags={"error": "true"}),
    q("bool renders lower-case", [], "frontend", tags={"error": "True"}),
    q("float tag", [CHECKOUT], "payment", tags={"payment.amount": "12.5"}),
    q("float tag 99.99", [CHECKOUT2], "payment", tags={"payment.amount": "99.99"}),
    q("float tag: 10 significant digits", [HOME], "frontend", tags={"ratio": "3.141592654"}),
    q("float tag: full repr does not match", [], "frontend", tags={"ratio": "3.14159265358979"}),
    q("float tag 0.1", [RESTOCK], "mysql", tags={"fraction": "0.1"}),
    q("float tag with exponent", [RESTOCK], "mysql", tags={"huge": "1e+300"}),
    q("string tag", [CHECKOUT], "frontend", tags={"http.method": "POST"}),
    q("string tag with URL characters", [CHECKOUT], "frontend",
      tags={"http.url": "https://shop.example/checkout?cart=42"}),
    q("unicode string tag", [RESTOCK], "mysql", tags={"unicode": "café ☕"}),
    q("empty string tag", [RESTOCK], "mysql", tags={"note": ""}),
    q("string tag: whole value only", [], "frontend", tags={"http.method": "POS"}),
    q("string tag: case-sensitive", [], "frontend", tags={"http.method": "post"}),
    q("binary tag as hex", [HOME], "frontend", tags={"payload": "00ff10"}),
    q("repeated key, first value", [RESTOCK], "inventory", tags={"warehouse": "north"}),
    q("repeated key, second value", [RESTOCK], "inventory", tags={"warehouse": "south"}),
    q("span.kind is a tag too", [BATCH], "worker", tags={"span.kind": "bogus"}),
    q("unknown tag key", [], "frontend", tags={"nope": "200"}),
    # process tags
    q("process tag", [HEALTH, CHECKOUT], "frontend", tags={"hostname": "fe-1"}),
    q("process tag fe-2", [CHECKOUT2, HOME], "frontend", tags={"hostname": "fe-2"}),
    q("process int tag", [CHECKOUT2, HOME], "frontend", tags={"pid": "4343"}),
    q("process bool tag", [RESTOCK], "inventory", tags={"canary": "true"}),
    q("process float tag", [BATCH], "worker", tags={"queue.lag": "0.75"}),
    q("process tag of another service", [], "frontend", tags={"hostname": "pay-1"}),
    # log fields
    q("log field string", [HOME], "inventory", tags={"event": "cache miss"}),
    q("log field bool", [HOME], "inventory", tags={"cache.hit": "false"}),
    q("log field float", [HOME], "inventory", tags={"latency": "1.5e-07"}),
    q("log field int", [CHECKOUT], "payment", tags={"retry.count": "3"}),
    q("log field binary", [CHECKOUT], "payment", tags={"error.object": "0102"}),
    q("log field of a second log", [CHECKOUT], "payment", tags={"event": "refund issued"}),
    q("log field of another service", [], "frontend", tags={"event": "charge failed"}),
    # several tags: all must match on one span
    q("two span tags on one span", [HOME], "frontend",
      tags={"http.method": "GET", "http.status_code": "404"}),
    q("tags split over two spans", [], "frontend",
      tags={"http.method": "POST", "http.status_code": "200"}),
    q("span tag, process tag and log field of one span", [CHECKOUT], "frontend",
      tags={"hostname": "fe-1", "http.status_code": "200", "event": "request received"}),
    q("span tag and log field of two spans", [], "frontend",
      tags={"http.method": "POST", "event": "request received"}),
    q("process tag and span tag of two traces", [], "frontend",
      tags={"hostname": "fe-1", "http.status_code": "404"}),
    q("fields of two logs of one span", [CHECKOUT], "payment",
      tags={"retry.count": "3", "event": "refund issued"}),
    q("tag of another service's span", [], "payment", tags={"http.method": "POST"}),
    # duration, inclusive, of one span
    q("duration min inclusive", [RESTOCK, BATCH], "inventory", dur_min=45 * MS),
    q("duration min + 1", [RESTOCK], "inventory", dur_min=45 * MS + 1),
    q("duration max inclusive", [BATCH, HOME], "inventory", dur_max=45 * MS),
    q("duration max - 1", [HOME], "inventory", dur_max=45 * MS - 1),
    q("duration min = max", [BATCH], "inventory", dur_min=45 * MS, dur_max=45 * MS),
    q("duration range between spans", [], "inventory", dur_min=45 * MS + 1, dur_max=70 * MS - 1),
    q("duration of another service's span", [], "mysql", dur_min=100 * MS),
    q("duration and operation on one span", [CHECKOUT2], "frontend", "GET /checkout", dur_min=260 * MS),
    q("duration and operation of two spans", [], "frontend", "HTTP POST /pay", dur_min=250 * MS),
    q("duration and tag on one span", [CHECKOUT], "payment", tags={"error": "true"}, dur_max=200 * MS),
    q("duration and tag of two spans", [], "payment", tags={"error": "true"}, dur_max=100 * MS),
    # time window, inclusive, on the start time of one span
    q("start min inclusive", [RESTOCK, BATCH], "inventory", start_min=_b3),
    q("start min + 1", [RESTOCK], "inventory", start_min=_b3 + 1),
    q("start max inclusive", [BATCH, HOME], "inventory", start_max=_b3),
    q("start max - 1", [HOME], "inventory", start_max=_b3 - 1),
    q("start min = max", [BATCH], "inventory", start_min=_b3, start_max=_b3),
    q("window between spans", [], "inventory", start_min=_b3 + 1, start_max=r1.start_time - 1),
    q("window before everything", [], "frontend", start_max=T0),
    q("window after everything", [], "frontend", start_min=T0 + 7 * SEC),
    q("window on a later span of the trace", [CHECKOUT], "payment", start_min=_c3, start_max=_c3),
    q("window holding only another service's span", [], "frontend", start_min=_c3, start_max=_c3 + 5 * MS),
    q("window and operation on one span", [CHECKOUT], "frontend", "HTTP POST /pay",
      start_min=_c2, start_max=_c2),
    q("window and operation of two spans", [], "frontend", "GET /checkout", start_min=_c2, start_max=_c2),
    q("all conditions on one span", [CHECKOUT2], "payment", "POST /pay", tags={"payment.amount": "99.99"},
      start_min=_x2, start_max=_x2, dur_min=250 * MS, dur_max=250 * MS),
    # limit: the newest N
    q("limit 1", [CHECKOUT2], "frontend", limit=1),
    q("limit 2", [CHECKOUT2, HEALTH], "frontend", limit=2),
    q("limit 3", [CHECKOUT2, HEALTH, HOME], "frontend", limit=3),
    q("limit = matches", _ALL_FRONTEND, "frontend", limit=4),
    q("limit > matches", _ALL_FRONTEND, "frontend", limit=5),
    q("limit 0 is no limit", _ALL_FRONTEND, "frontend", limit=0),
    q("negative limit is no limit", _ALL_FRONTEND, "frontend", limit=-1),
    q("limit applies after the filters", [HOME], "frontend", tags={"http.method": "GET"},
      start_max=T0 + 2 * SEC + 999 * MS, limit=1),
    q("limit within a window", [BATCH], "inventory",
      start_min=T0 + 2 * SEC, start_max=T0 + 4 * SEC + 500 * MS, limit=1),
    # awkward tag data. The 32 KiB and 256-byte binary values are not searched: Jaeger's
    # Elasticsearch templates map tag values as keywords with ignore_above 256, so Jaeger cannot
    # find values longer than that either.
    q("dotted key", [AWKWARD], "awkward", tags={DOTTED_KEY: "198.51.100.9"}),
    q("dotted key, process tag", [AWKWARD], "awkward", tags={DOTTED_KEY: "203.0.113.7, 198.51.100.2"}),
    q("dotted key, log field", [AWKWARD], "awkward", tags={DOTTED_KEY: "10.0.0.1"}),
    q("dotted key, no such value", [], "awkward", tags={DOTTED_KEY: "203.0.113.7"}),
    q("unicode key and value", [AWKWARD], "awkward", tags={"用户": FAMILY}),
    q("emoji key", [AWKWARD], "awkward", tags={"emoji.🔑": "🚀🔥"}),
    q("right-to-left process tag", [AWKWARD], "awkward", tags={"region.שם": RTL}),
    q("combining mark in a log field", [AWKWARD], "awkward", tags={"event": DECOMPOSED}),
    q("unicode is not normalised", [], "awkward", tags={"event": "café"}),
    q("empty value on a dotted key", [AWKWARD], "awkward", tags={"http.request.header.x-empty": ""}),
    q("cyrillic dotted log key", [AWKWARD], "awkward", tags={"ключ.имя": "значение ✓"}),
    q("int beyond float precision", [AWKWARD], "awkward", tags={"int.max.safe": "9007199254740993"}),
    q("int beyond float precision, off by one", [], "awkward", tags={"int.max.safe": "9007199254740992"}),
    q("awkward tags together", [AWKWARD], "awkward", AWKWARD_OP,
      tags={DOTTED_KEY: "198.51.100.9", "用户": FAMILY, "bool.false": "false", "raw": "00fe"}),
]
# fmt: on


# ---------------------------------------------------------------------------------------------
# Dependencies: links counted from spans in (end - lookback, end].

DEP_END = T0 + 100 * SEC
DEP_LOOKBACK = 10 * SEC

D1, D2, D3, D4, D5, D6 = 0xD1, 0xD2, (7 << 64) | 0xD3, 0xD4, 0xD5, 0xD6

# fmt: off
_t = DEP_END - 5 * SEC
_d1 = [
    span(D1, 1, FE1, "GET /checkout", start=_t, dur=100 * MS, kind="server"),
    span(D1, 2, FE1, "HTTP POST /pay", start=_t + 1 * MS, dur=50 * MS, parent=1, kind="client"),
    span(D1, 3, PAY1, "POST /pay", start=_t + 2 * MS, dur=40 * MS, parent=2, kind="server"),  # fe→payment
    span(D1, 4, DB1, "query", start=_t + 3 * MS, dur=10 * MS, parent=3, kind="server"),  # payment→mysql
    span(D1, 5, INV1, "reserve", start=_t + 4 * MS, dur=10 * MS, kind="consumer",
         refs=[follows(D1, 1)]),  # frontend→inventory, through FOLLOWS_FROM
    span(D1, 6, WORKER, "orphan", start=_t + 5 * MS, dur=10 * MS, parent=0x99),  # parent never stored: none
    span(D1, 7, WORKER, "linked", start=_t + 6 * MS, dur=10 * MS,
         refs=[child_of(D2, 1)]),  # another trace's span is not a parent: none
    span(D1, 8, WORKER, "notify", start=_t + 7 * MS, dur=10 * MS,
         refs=[follows(D1, 3), child_of(D1, 1)]),  # CHILD_OF wins: frontend→worker, not payment→worker
    span(D1, 9, FE1, "render", start=_t + 8 * MS, dur=10 * MS, parent=1, kind="internal"),  # same service
]
_t = DEP_END - 4 * SEC
_d2 = [
    span(D2, 1, FE2, "GET /checkout", start=_t, dur=100 * MS, kind="server"),
    span(D2, 2, FE2, "HTTP POST /pay", start=_t + 1 * MS, dur=10 * MS, parent=1, kind="client"),
    span(D2, 3, PAY2, "POST /pay", start=_t + 2 * MS, dur=8 * MS, parent=2, kind="server"),  # fe→payment
    span(D2, 4, FE2, "HTTP POST /pay", start=_t + 20 * MS, dur=10 * MS, parent=1, kind="client"),
    span(D2, 5, PAY2, "POST /pay", start=_t + 21 * MS, dur=8 * MS, parent=4, kind="server"),  # fe→payment
]
# Each of these traces has all its spans at one instant, on or just past a window's edge.
_d3 = [  # at the end: inside, the end is inclusive
    span(D3, 1, FE1, "GET /", start=DEP_END, dur=1 * MS, kind="server"),
    span(D3, 2, INV1, "list items", start=DEP_END, dur=1 * MS, parent=1, kind="server"),
]
_d4 = [  # at end - lookback: outside, the window's start is exclusive
    span(D4, 1, FE1, "GET /", start=DEP_END - DEP_LOOKBACK, dur=1 * MS, kind="server"),
    span(D4, 2, DB1, "query", start=DEP_END - DEP_LOOKBACK, dur=1 * MS, parent=1, kind="server"),
]
_d5 = [  # 1 µs after the end
    span(D5, 1, PAY1, "POST /pay", start=DEP_END + 1, dur=1 * MS, kind="server"),
    span(D5, 2, INV1, "reserve", start=DEP_END + 1, dur=1 * MS, parent=1, kind="server"),
]
_d6 = [  # 50 s before the end
    span(D6, 1, WORKER, "process-order", start=DEP_END - 50 * SEC, dur=1 * MS, kind="consumer"),
    span(D6, 2, DB1, "query", start=DEP_END - 50 * SEC, dur=1 * MS, parent=1, kind="server"),
]
# fmt: on

DEP_WRITES: list[list[Span]] = [
    _d1[4:] + _d2[2:],  # children first, in other calls than their parents
    _d3 + _d4 + _d5 + _d6,
    _d1[:4] + _d2[:2],
]


@dataclass(frozen=True, slots=True)
class DependencyCase:
    caption: str
    end_ts: int
    lookback: int
    expected: dict[tuple[str, str], int]  # (parent, child) → call count


DEPENDENCY_CASES = [
    DependencyCase(
        "last 10s",
        DEP_END,
        DEP_LOOKBACK,
        {
            ("frontend", "payment"): 3,
            ("payment", "mysql"): 1,
            ("frontend", "inventory"): 2,
            ("frontend", "worker"): 1,
        },
    ),
    DependencyCase(
        "last 60s",
        DEP_END,
        60 * SEC,
        {
            ("frontend", "payment"): 3,
            ("payment", "mysql"): 1,
            ("frontend", "inventory"): 2,
            ("frontend", "worker"): 1,
            ("frontend", "mysql"): 1,
            ("worker", "mysql"): 1,
        },
    ),
    DependencyCase(
        "window moved 1µs earlier",
        DEP_END - 1,
        DEP_LOOKBACK,
        {
            ("frontend", "payment"): 3,
            ("payment", "mysql"): 1,
            ("frontend", "inventory"): 1,
            ("frontend", "worker"): 1,
            ("frontend", "mysql"): 1,
        },
    ),
    DependencyCase("1µs after the end", DEP_END + 1, 1, {("payment", "inventory"): 1}),
    DependencyCase("empty window", DEP_END - 60 * SEC, 5 * SEC, {}),
]


# ---------------------------------------------------------------------------------------------
# Generated data sets for eviction and concurrency.


def eviction_writes(count: int) -> list[list[Span]]:
    """`count` traces, 1 s apart, oldest first; each written in two calls (root, then child).

    Only the first trace has a span of service "early-bird", to see it go with that trace.
    """
    writes = []
    for i in range(count):
        tid, t = 0xE000 + i, T0 + i * SEC
        child_proc = proc("early-bird") if i == 0 else proc("stock")
        writes.append([span(tid, 1, proc("shop"), f"op-{i}", start=t, dur=10 * MS, kind="server")])
        writes.append(
            [span(tid, 2, child_proc, "take", start=t + 1 * MS, dur=5 * MS, parent=1, kind="server")]
        )
    return writes


def concurrent_traces(count: int) -> dict[int, list[Span]]:
    """`count` traces 10 ms apart, oldest first, of three spans each; every other id is 128-bit."""
    out = {}
    gen, sink = proc("load-gen", {"hostname": "lg-1"}), proc("load-sink")
    for i in range(count):
        tid = (0xA000 + i) | ((i % 2) << 100)
        t = T0 + 20 * SEC + i * 10 * MS
        out[tid] = [
            span(tid, 1, gen, f"GET /items/{i % 5}", start=t, dur=5 * MS, kind="server", tags={"i": i}),
            span(tid, 2, gen, "call sink", start=t + 1 * MS, dur=3 * MS, parent=1, kind="client"),
            span(
                tid,
                3,
                sink,
                "store",
                start=t + 2 * MS,
                dur=1 * MS,
                parent=2,
                kind="server",
                logs=[(t, {"i": i})],
            ),
        ]
    return out
