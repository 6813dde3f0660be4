"""The storage phase of `bench/ingest.py`: what one backend did with N spans, and how fast it answers
searches at N spans; one `StorageRun` per backend, printed side by side with ratios to memory.

Searches go through pyjaeger's HTTP query API, one keep-alive connection, interleaved round by
round (see `SEARCHES`); every answer is checked (20 whole traces of 10 spans; one for an id).
"""

from __future__ import annotations

import json
import math
import random
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from _common import MB, Client, percentile, trace_id_bytes
from _es import EsStats

__all__ = ["SEARCHES", "Client", "Route", "StorageRun", "measure_searches", "print_storage_report"]

SERVICE = "bench-ingest"  # the ingest workload's one service (`_common.ingest_spans`)
TAG = {"http.url": "https://example.com/api/items/34"}  # a string tag on 1 span in 100
# (name, query string without the time window; None for trace-by-id)
SEARCHES: tuple[tuple[str, str | None], ...] = (
    ("trace by id", None),
    ("service, limit 20", f"service={SERVICE}&limit=20"),
    ("service+operation, limit 20", f"service={SERVICE}&operation=op-3&limit=20"),
    (
        "service+tag, limit 20",
        f"service={SERVICE}&tags={urllib.parse.quote(json.dumps(TAG))}&limit=20",
    ),
)


@dataclass
class Route:
    """A query and what it should answer: `n_traces` traces of `n_spans` spans each."""

    name: str
    path: Callable[[], str]
    n_traces: int
    n_spans: int
    ms: list[float] = field(default_factory=list)
    failures: int = 0
    first_failure: str = ""

    def hit(self, client: Client) -> None:
        status, body, ms = client.get(self.path())
        problem = f"HTTP {status}: {body[:200]!r}" if status != 200 else self._check(json.loads(body))
        if problem:
            self.failures += 1
            self.first_failure = self.first_failure or problem
            return
        self.ms.append(ms)

    def _check(self, doc: dict[str, object]) -> str:
        data = doc.get("data")
        if not isinstance(data, list) or len(data) != self.n_traces:
            return f"expected {self.n_traces} traces, got {len(data) if isinstance(data, list) else data!r}"
        if any(len(t["spans"]) != self.n_spans for t in data):
            return f"expected {self.n_spans} spans per trace"
        return ""


@dataclass
class StorageRun:
    storage: str
    spans: int  # accepted by the collector
    refused: int  # batches answered 503, retried by the sender after a pause
    accept_s: float  # from the first send to the last accepted batch
    store_s: float  # ... until the collector counted every span written (result="ok")
    index_s: float  # ... until every span is searchable (Elasticsearch: _count after _refresh)
    indexed: int
    write_errors: float  # spans the collector failed to write (result="err")
    server_cpu: float  # pyjaeger CPU seconds, first send to indexed
    server_idle_rss: int
    server_rss: int
    server_peak_rss: int
    writes: float  # write_spans calls (the collector's save_latency count)
    write_s: float  # their total seconds (save_latency sum)
    es_cpu: float | None = None
    es_rss: int | None = None
    es_rss_anon: int | None = None
    es: EsStats | None = None  # counters over the load, first send to indexed
    disk: int | None = None  # sqlite: database + WAL bytes once every span was written
    disk_closed: int | None = None  # sqlite: the same after the server stopped (WAL checkpointed)
    searches: dict[str, Route] = field(default_factory=dict)
    server_rss_after_queries: int = 0
    exit_code: int | None = None

    def per_s(self, seconds: float) -> float:
        return self.spans / seconds if seconds > 0 else math.nan


def measure_searches(
    query_port: int,
    trace_prefix: int,
    batches: Sequence[tuple[int, int]],
    start_us: int,
    end_us: int,
    rounds: int,
    traces_per_batch: int,
    spans_per_trace: int,
) -> dict[str, Route]:
    """`rounds` interleaved rounds of `SEARCHES`; ids are drawn from the accepted batches."""
    rng = random.Random(1)
    window = f"&start={start_us}&end={end_us}"

    def random_trace() -> str:
        worker, counter = rng.choice(batches)
        k = rng.randrange(traces_per_batch)
        return "/api/traces/" + trace_id_bytes(trace_prefix, worker, counter + k).hex()

    def search(qs: str) -> Callable[[], str]:
        return lambda: f"/api/traces?{qs}{window}"

    routes: list[Route] = []
    for name, qs in SEARCHES:
        if qs is None:
            routes.append(Route(name, random_trace, 1, spans_per_trace))
        else:
            routes.append(Route(name, search(qs), 20, spans_per_trace))
    client = Client(query_port, timeout=300)
    for route in routes:  # warm-up: first hits import, compile and fill caches
        for _ in range(3):
            route.hit(client)
        route.ms.clear()
        route.failures = 0
    for _ in range(rounds):
        for route in routes:
            route.hit(client)
    return {r.name: r for r in routes}


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return ""
    return f"{a / b:.2f}"


def print_storage_report(runs: Sequence[StorageRun]) -> None:
    """One column per backend; a ratio column (x / memory) when memory ran too."""
    base = next((r for r in runs if r.storage == "memory"), None)
    others = [r for r in runs if r is not base]
    short = {"elasticsearch": "es", "sqlite": "sqlite"}
    cols = [r.storage for r in runs] + [f"{short.get(r.storage, r.storage)} / memory" for r in others if base]
    print(f"\n{'':<38}" + "".join(f"{c:>16}" for c in cols))

    def line(label: str, value: Callable[[StorageRun], float | None], fmt: str = ",.0f") -> None:
        cells = []
        for r in runs:
            v = value(r)
            cells.append("n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt))
        if base is not None:
            cells += [_ratio(value(r), value(base)) for r in others]
        print(f"{label:<38}" + "".join(f"{c:>16}" for c in cells))

    line("spans accepted", lambda r: r.spans)
    line("batches refused (503, retried)", lambda r: r.refused)
    line("accepted spans/s", lambda r: r.per_s(r.accept_s))
    line("written spans/s (collector metric)", lambda r: r.per_s(r.store_s))
    line("indexed spans/s (searchable)", lambda r: r.per_s(r.index_s))
    line("pyjaeger CPU s / 10k spans", lambda r: r.server_cpu / r.spans * 10_000, ".3f")
    line("pyjaeger RSS MB after load", lambda r: r.server_rss / MB)
    line("pyjaeger peak RSS MB", lambda r: r.server_peak_rss / MB)
    line("pyjaeger RSS MB after searches", lambda r: r.server_rss_after_queries / MB)
    line("spans per write_spans call", lambda r: r.spans / r.writes if r.writes else None, ",.0f")
    line("ms per write_spans call (mean)", lambda r: r.write_s / r.writes * 1000 if r.writes else None, ".1f")
    line("sqlite file MB (db + WAL) after load", lambda r: None if r.disk is None else r.disk / MB, ",.1f")
    line("  ... per million spans", lambda r: None if r.disk is None else r.disk / MB / r.spans * 1e6, ",.0f")
    line("sqlite file MB after stop", lambda r: None if r.disk_closed is None else r.disk_closed / MB, ",.1f")
    line("ES CPU s / 10k spans", lambda r: None if r.es_cpu is None else r.es_cpu / r.spans * 10_000, ".3f")
    line("ES RSS MB (anon)", lambda r: None if r.es_rss_anon is None else r.es_rss_anon / MB)
    line("ES RSS MB (incl. mapped files)", lambda r: None if r.es_rss is None else r.es_rss / MB)
    for name, _ in SEARCHES:
        line(f"{name}: p50 ms", _search_pct(name, 50), ".2f")
        line(f"{name}: p99 ms", _search_pct(name, 99), ".2f")
    for r in runs:
        failed = [
            f"{n}: {x.failures} failed, first {x.first_failure}" for n, x in r.searches.items() if x.failures
        ]
        notes = failed + ([f"{r.write_errors:.0f} spans not written"] if r.write_errors else [])
        if r.indexed < r.spans:
            notes.append(f"only {r.indexed:,} of {r.spans:,} spans searchable at the end")
        if r.exit_code not in (0, None):
            notes.append(f"exit code {r.exit_code}")
        if notes:
            print(f"{r.storage}: " + "; ".join(notes))
    for r in runs:
        if r.es is not None:
            _print_bulk(r)


def _search_pct(name: str, p: float) -> Callable[[StorageRun], float | None]:
    def pct(r: StorageRun) -> float | None:
        route = r.searches.get(name)
        return percentile(route.ms, p) if route is not None and route.ms else None

    return pct


def _print_bulk(r: StorageRun) -> None:
    s = r.es
    assert s is not None
    n = s.bulk_requests
    if not n:
        print(f"{r.storage}: no _bulk requests seen in the node's HTTP route stats")
        return
    lo, hi = s.hist_median("size")
    tlo, thi = s.hist_median("time")
    print(
        f"\n{r.storage} _bulk over the load ({s.at:.1f}s): {n:,} requests, {s.docs_indexed:,} documents "
        f"({s.docs_indexed - r.indexed:,} service docs), {s.docs_indexed / n:,.0f} docs and "
        f"{s.bulk_bytes / n / 1024:,.0f} KiB per request (median in [{lo // 1024:,}, {hi // 1024:,}) KiB), "
        f"{s.bulk_bytes / max(1, s.docs_indexed):,.0f} bytes per document; handling time median in "
        f"[{tlo}, {thi}) ms"
    )
    print(
        f"{'':<{len(r.storage)}}  node time over the load: indexing {s.index_ms / 1000:.1f}s (summed over "
        f"shards), refresh {s.refresh_ms / 1000:.1f}s, merges {s.merge_ms / 1000:.1f}s, throttled "
        f"{s.throttle_ms / 1000:.1f}s, GC young {s.gc_young_ms / 1000:.1f}s / old {s.gc_old_ms / 1000:.1f}s; "
        f"heap {s.heap_used / MB:,.0f} of {s.heap_max / MB:,.0f} MB used at the end"
    )


def now_us() -> int:
    return time.time_ns() // 1000
