"""End-to-end ingest benchmark: span batches into a running all-in-one, in spans per second.

Protocols (`--protocol`, default `all`; `both` is the two OTLP ones):
- `http`: OTLP/HTTP protobuf, `POST /v1/traces` (4318), 200;
- `grpc`: OTLP/gRPC `TraceService/Export` (4317);
- `thrift-http`: Jaeger thrift, a bare binary `Batch` in `POST /api/traces` (14268),
  `Content-Type: application/x-thrift`, 202;
- `api-v2-grpc`: Jaeger protobuf, `jaeger.api_v2.CollectorService/PostSpans` (14250), raw bytes.

Sender processes (`--senders`, each with `--connections` keep-alive connections, HTTP/1.1 or one
gRPC channel each) post batches of 100 spans (10 traces x 10 spans, each span with 8 attributes of mixed
types and 1 event) for `--seconds` after a `--warmup`. The payload is encoded once; every request
gets fresh trace ids (and, for OTLP, current timestamps) by slicing new bytes into the template, so
the sender costs 10 to 25 µs per batch to build (the Jaeger templates are re-encoded with the
current time once a second instead).

Each target runs on a fresh server. The baseline measured in the same run is a trivial server on
pyjaeger's own stack (uvicorn+httptools+starlette and grpc.aio on uvloop, one server per port) that
reads the body and answers an empty response (200, 202 for thrift, empty bytes for gRPC): the
transport ceiling for this sender. With `--jaeger PATH` a real Jaeger binary (memory storage,
default ports) is measured the same way.

Then the RSS phase: a fresh pyjaeger with `--memory.max-traces 0` is fed until `--rss-spans`
(1M) spans are stored, and its RSS and bytes per stored span are printed.

With `--storage memory,sqlite,elasticsearch` (any of them, in that order or another) the storage
phase runs instead: for each backend in turn a fresh pyjaeger is fed `--spans` spans over
`--storage-protocol` (refused batches are retried after 10 ms), and the script prints spans/s
accepted, written (the collector's saved-spans counter) and indexed (Elasticsearch: `_count` over
the run's span indices, after a `_refresh`, reaches the number accepted; sqlite: written, since a
write returns after its commit), pyjaeger's CPU and RSS, for sqlite the file's size (database +
WAL after the load, and the database alone after the server stopped; `--sqlite-dir`, default the
system's temporary folder, holds it and is emptied after the run), and for Elasticsearch the
`_bulk` requests (count, documents and bytes per request, from the node's HTTP route statistics),
the node's CPU, RSS and time spent indexing, refreshing and merging. Then `--queries` rounds of
searches through the query API (trace by id; service; service+operation; service+tag; limit 20),
p50/p99. Every figure is also printed as a ratio to memory's in the same run. Elasticsearch is a
node of its own (tests/elasticsearch/launcher.py, `--es-heap`, default 2g) or `--es-url`; pyjaeger
gets `--span-storage.type=elasticsearch`, a fresh `--es.index-prefix` and `--es.num-replicas=0`
(`--server-arg` adds more, e.g. `--server-arg=--es.bulk.workers=4`). See bench/_storage.py.

    /tmp/venv/bin/python bench/ingest.py [--protocol all|both|http|grpc|thrift-http|api-v2-grpc]
        [--seconds 20] [--quick] [--no-rss] [--jaeger /path/to/jaeger] [--rounds N]
    /tmp/venv/bin/python bench/ingest.py --storage memory,sqlite,elasticsearch [--spans 100000]
        [--queries 100] [--es-url URL | --es-heap 2g] [--sqlite-dir DIR] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_V2_METHOD,
    GC_MODES,
    GRPC_METHOD,
    HOST,
    MB,
    PROTOBUF,
    PYJAEGER_STORED,
    THRIFT,
    JaegerTemplate,
    PayloadTemplate,
    Server,
    http_get,
    ingest_spans,
    machine,
    metric_sum,
    percentile,
    start_baseline,
    start_jaeger,
    start_pyjaeger,
    trace_id_bytes,
)
from _es import EsNode, EsStats, delete_prefix, external_node, scratch_prefix, start_node, wait_indexed
from _es import stats as es_stats
from _storage import StorageRun, measure_searches, now_us, print_storage_report

N_TRACES = 10
SPANS_PER_TRACE = 10
BATCH = N_TRACES * SPANS_PER_TRACE
PROTOCOLS = ("http", "grpc", "thrift-http", "api-v2-grpc")
PROTOCOL_NAMES = {
    "http": "OTLP/HTTP",
    "grpc": "OTLP/gRPC",
    "thrift-http": "Jaeger thrift over HTTP (14268)",
    "api-v2-grpc": "Jaeger api_v2 gRPC (14250)",
}

# ---------------------------------------------------------------------------------------------
# the sender (runs in spawned processes)


@dataclass
class SenderConfig:
    index: int
    protocol: str
    port: int
    connections: int
    prefix: int
    warmup: float
    seconds: float  # measured window after the warm-up; inf in the RSS phase
    max_spans: int  # stop once this many spans are accepted across all senders; 0 = no limit
    deadline: float  # hard stop, seconds after go
    refused_pause: float = 0.0  # seconds a thread sleeps after a refusal (storage phase: 0.01)
    keep_batches: bool = False  # record (worker, first counter) of every accepted batch


@dataclass
class ThreadStats:
    ok: int = 0  # accepted batches in the window
    refused: int = 0  # 503 / RESOURCE_EXHAUSTED in the window
    errors: int = 0  # anything else in the window
    total_ok: int = 0  # accepted batches over the whole run, warm-up included
    total_refused: int = 0
    latencies: list[float] = field(default_factory=list)  # ms, accepted batches in the window
    first_error: str = ""
    accepted_batches: list[tuple[int, int]] = field(default_factory=list)  # (worker, first counter)


Send = Callable[[bytes], tuple[str, str]]  # body -> ("ok" | "refused" | "error", detail)


def _http_client(port: int, path: str, content_type: str, ok_status: int) -> Send:
    state: dict[str, http.client.HTTPConnection] = {}
    headers = {"Content-Type": content_type}

    def send(body: bytes) -> tuple[str, str]:
        conn = state.get("c")
        if conn is None:
            conn = state["c"] = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            del state["c"]
            return "error", f"{type(e).__name__}: {e}"
        if resp.status == ok_status:
            return "ok", ""
        if resp.status == 503:
            return "refused", ""
        return "error", f"HTTP {resp.status}: {data[:200]!r}"

    return send


def _grpc_client(channel: Any, method: str) -> Send:
    import grpc

    export = channel.unary_unary(method)  # no (de)serializers: raw bytes both ways

    def send(body: bytes) -> tuple[str, str]:
        try:
            export(body, timeout=60)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                return "refused", ""
            return "error", f"{e.code()}: {e.details()} ({e.debug_error_string()[:300]})"
        return "ok", ""

    return send


def _sender_main(cfg: SenderConfig, go: Any, go_at: Any, accepted: Any, out: Any) -> None:
    tpl: PayloadTemplate | JaegerTemplate
    if cfg.protocol in ("http", "grpc"):
        tpl = PayloadTemplate(ingest_spans(N_TRACES, SPANS_PER_TRACE), N_TRACES)
    else:
        tpl = JaegerTemplate(cfg.protocol, N_TRACES, SPANS_PER_TRACE)
    channels: list[Any] = []
    if cfg.protocol in ("grpc", "api-v2-grpc"):
        import grpc

        method = GRPC_METHOD if cfg.protocol == "grpc" else API_V2_METHOD
        # A channel (TCP connection) per connection, as that many exporting processes would
        # have: a local subchannel pool keeps grpc from sharing one connection among them.
        channels = [
            grpc.insecure_channel(f"{HOST}:{cfg.port}", options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(cfg.connections)
        ]
        for channel in channels:
            grpc.channel_ready_future(channel).result(timeout=30)
        clients = [_grpc_client(channel, method) for channel in channels]
    elif cfg.protocol == "http":
        clients = [_http_client(cfg.port, "/v1/traces", PROTOBUF, 200) for _ in range(cfg.connections)]
    else:
        clients = [_http_client(cfg.port, "/api/traces", THRIFT, 202) for _ in range(cfg.connections)]
    out.put(("ready", cfg.index, None))
    go.wait()
    t0 = go_at.value
    m_from = t0 + cfg.warmup
    m_until = t0 + cfg.warmup + cfg.seconds
    stop_at = min(m_until, t0 + cfg.deadline)
    stats = [ThreadStats() for _ in clients]

    def run(i: int, send: Send) -> None:
        st = stats[i]
        worker = cfg.index * 1000 + i
        counter = 0
        now_ns = time.time_ns
        mono = time.monotonic
        pack = trace_id_bytes
        prefix = cfg.prefix
        limit = cfg.max_spans
        while True:
            if mono() >= stop_at or (limit and accepted.value >= limit):
                return
            ids = [pack(prefix, worker, counter + k) for k in range(N_TRACES)]
            counter += N_TRACES
            body = tpl.render(ids, now_ns())
            t_start = mono()
            result, detail = send(body)
            t_end = mono()
            in_window = m_from <= t_end < m_until
            if result == "ok":
                st.total_ok += 1
                if cfg.keep_batches:
                    st.accepted_batches.append((worker, counter - N_TRACES))
                if limit:
                    with accepted.get_lock():
                        accepted.value += BATCH
                if in_window:
                    st.ok += 1
                    st.latencies.append((t_end - t_start) * 1000)
            elif result == "refused":
                st.total_refused += 1
                st.refused += in_window
                if cfg.refused_pause:
                    time.sleep(cfg.refused_pause)
            else:
                st.errors += in_window
                if not st.first_error:
                    st.first_error = detail
                time.sleep(0.01)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    _sleep_until(m_from)
    cpu0 = time.process_time()
    wall0 = time.monotonic()
    for t in threads:
        t.join()
    cpu1 = time.process_time()
    wall1 = time.monotonic()
    for channel in channels:
        channel.close()
    merged = ThreadStats()
    for st in stats:
        merged.ok += st.ok
        merged.refused += st.refused
        merged.errors += st.errors
        merged.total_ok += st.total_ok
        merged.total_refused += st.total_refused
        merged.latencies += st.latencies
        merged.first_error = merged.first_error or st.first_error
        merged.accepted_batches += st.accepted_batches
    cpu_share = (cpu1 - cpu0) / (wall1 - wall0) if wall1 > wall0 else 0.0
    out.put(("done", cfg.index, (merged, cpu_share)))


def _sleep_until(t: float) -> None:
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


# ---------------------------------------------------------------------------------------------
# one measurement


@dataclass
class Run:
    target: str
    protocol: str
    window: float
    stats: ThreadStats
    sender_cpu: float  # sum over sender processes of CPU seconds per wall second
    server_cpu: float  # server CPU seconds in the window
    stored_per_s: float | None
    idle_rss: int
    rss: int
    lost: float | None  # accepted but never stored (after the queue drained)
    exit_code: int | None = None

    @property
    def accepted_per_s(self) -> float:
        return self.stats.ok * BATCH / self.window

    @property
    def cpu_per_10k(self) -> float:
        spans = self.stats.ok * BATCH
        return self.server_cpu / spans * 10_000 if spans else float("nan")


def _send_phase(
    server: Server,
    protocol: str,
    args: argparse.Namespace,
    *,
    warmup: float,
    seconds: float,
    max_spans: int = 0,
    on_window: Callable[[str], None] | None = None,
    prefix: int | None = None,
    refused_pause: float = 0.0,
    keep_batches: bool = False,
) -> tuple[ThreadStats, float]:
    """Run the senders against `server`; `on_window("start"|"end")` is called at the window edges.

    `prefix` is the trace ids' run prefix (random by default); see `SenderConfig` for the others.
    """
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    go_at = ctx.Value("d", 0.0)
    accepted = ctx.Value("q", 0)
    out = ctx.Queue()
    port = {
        "http": server.otlp_http,
        "grpc": server.otlp_grpc,
        "thrift-http": server.jaeger_http,
        "api-v2-grpc": server.jaeger_grpc,
    }[protocol]
    if port is None:
        raise ValueError(f"{server.name} has no port for {protocol}")
    if prefix is None:
        prefix = random.getrandbits(31) | 1
    deadline = warmup + seconds if max_spans == 0 else 3600.0
    procs = [
        ctx.Process(
            target=_sender_main,
            args=(
                SenderConfig(
                    i,
                    protocol,
                    port,
                    args.connections,
                    prefix,
                    warmup,
                    seconds,
                    max_spans,
                    deadline,
                    refused_pause,
                    keep_batches,
                ),
                go,
                go_at,
                accepted,
                out,
            ),
            daemon=True,
        )
        for i in range(args.senders)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            kind, _, _ = out.get(timeout=60)
            assert kind == "ready"
        go_at.value = time.monotonic() + 0.05
        go.set()
        if on_window is not None:
            _sleep_until(go_at.value + warmup)
            on_window("start")
            if max_spans == 0:
                _sleep_until(go_at.value + warmup + seconds)
                on_window("end")
        merged = ThreadStats()
        cpu = 0.0
        for _ in procs:
            kind, _, payload = out.get(timeout=deadline + 120)
            st, share = payload
            merged.ok += st.ok
            merged.refused += st.refused
            merged.errors += st.errors
            merged.total_ok += st.total_ok
            merged.total_refused += st.total_refused
            merged.latencies += st.latencies
            merged.first_error = merged.first_error or st.first_error
            merged.accepted_batches += st.accepted_batches
            cpu += share
        if on_window is not None and max_spans:
            on_window("end")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return merged, cpu


def measure(target: str, start: Callable[[], Server], protocol: str, args: argparse.Namespace) -> Run:
    server = start()
    try:
        time.sleep(0.5)
        idle_rss = server.rss()
        marks: dict[str, tuple[float, float, float | None]] = {}

        def on_window(edge: str) -> None:
            marks[edge] = (time.monotonic(), server.cpu_seconds(), server.stored_spans())

        stats, sender_cpu = _send_phase(
            server, protocol, args, warmup=args.warmup, seconds=args.seconds, on_window=on_window
        )
        (t0, cpu0, stored0), (t1, cpu1, stored1) = marks["start"], marks["end"]
        stored_per_s = None if stored0 is None or stored1 is None else (stored1 - stored0) / (t1 - t0)
        lost = None
        if stored0 is not None:
            total = stats.total_ok * BATCH
            try:
                lost = total - server.wait_stored(total, timeout=30)
            except TimeoutError:
                lost = total - (server.stored_spans() or 0)
        run = Run(
            target,
            protocol,
            args.seconds,
            stats,
            sender_cpu,
            cpu1 - cpu0,
            stored_per_s,
            idle_rss,
            server.rss(),
            lost,
        )
    finally:
        code = server.stop()
    run.exit_code = code
    return run


HEADER = (
    f"{'target':<9} {'proto':<11} {'accepted/s':>10} {'stored/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>7} {'refused':>7} {'errors':>6} {'CPU s/10k':>9} {'RSS MB':>7} {'sender CPU':>10}"
)


def row(r: Run) -> str:
    lat = r.stats.latencies
    stored = "n/a" if r.stored_per_s is None else f"{r.stored_per_s:,.0f}"
    line = (
        f"{r.target:<9} {r.protocol:<11} {r.accepted_per_s:>10,.0f} {stored:>10} {percentile(lat, 50):>7.1f} "
        f"{percentile(lat, 99):>7.1f} {max(lat, default=float('nan')):>7.1f} {r.stats.refused:>7} "
        f"{r.stats.errors:>6} {r.cpu_per_10k:>9.3f} {r.rss / MB:>7.0f} {r.sender_cpu:>9.0%}"
    )
    notes = []
    if r.lost:
        notes.append(f"{r.lost:.0f} accepted spans never stored")
    if r.exit_code not in (0, None):
        notes.append(f"exit code {r.exit_code}")
    if r.stats.first_error:
        notes.append(f"first error: {r.stats.first_error}")
    return line + ("  [" + "; ".join(notes) + "]" if notes else "")


# ---------------------------------------------------------------------------------------------
# RSS phase


def rss_phase(target: str, start: Callable[[], Server], protocol: str, args: argparse.Namespace) -> None:
    server = start()
    try:
        time.sleep(1.0)
        idle = server.rss()
        t0 = time.monotonic()
        cpu0 = server.cpu_seconds()
        samples: list[tuple[float, float]] = []  # (time, spans stored) twice a second
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                stored = server.stored_spans()
                if stored is not None:
                    samples.append((time.monotonic(), stored))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            stats, _ = _send_phase(
                server, protocol, args, warmup=0.0, seconds=float("inf"), max_spans=args.rss_spans
            )
            stored = server.wait_stored(args.rss_spans, timeout=300)
        finally:
            done.set()
            sampler.join()
        elapsed = time.monotonic() - t0
        cpu = server.cpu_seconds() - cpu0
        time.sleep(1.0)
        rss, peak = server.rss(), server.peak_rss()
        lat = stats.latencies
        print(
            f"{target:<9} {protocol:<11} stored {stored:,.0f} spans in {elapsed:.1f}s "
            f"({stored / elapsed:,.0f}/s, {cpu / stored * 10_000:.3f} CPU s/10k); "
            f"refused {stats.total_refused}; batch p50 {percentile(lat, 50):.1f} ms, "
            f"p99 {percentile(lat, 99):.1f} ms, max {max(lat, default=float('nan')):.0f} ms"
        )
        print(
            f"{'':<21} RSS idle {idle / MB:.0f} MB -> {rss / MB:.0f} MB (peak {peak / MB:.0f} MB): "
            f"{(rss - idle) / stored:,.0f} bytes per stored span"
        )
        quarters = _rates_by_quarter(samples, args.rss_spans)
        if quarters:
            print(
                f"{'':<21} spans/s while the store filled, by quarter: "
                + ", ".join(f"{r:,.0f}" for r in quarters)
                + f"; last / first: {quarters[-1] / quarters[0]:.2f}"
            )
    finally:
        code = server.stop(timeout=120)
    if code:
        print(f"{'':<21} {target} exited with {code}:\n{server.log_tail()}")


def _rates_by_quarter(samples: list[tuple[float, float]], total: int) -> list[float]:
    """Stored spans/s over each quarter of `total` (from the samples that cross each boundary)."""
    rates = []
    for q in range(4):
        lo, hi = total * q / 4, total * (q + 1) / 4
        inside = [(t, n) for t, n in samples if lo <= n <= hi]
        if len(inside) < 2 or inside[-1][0] == inside[0][0]:
            return []
        (t_a, n_a), (t_b, n_b) = inside[0], inside[-1]
        rates.append((n_b - n_a) / (t_b - t_a))
    return rates


# ---------------------------------------------------------------------------------------------
# storage phase: memory vs sqlite vs Elasticsearch


def _file_size(db: Path) -> int:
    """The database and its WAL (and shared-memory index) as they are on disk now."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def storage_run(storage: str, es: EsNode | None, args: argparse.Namespace) -> StorageRun:
    """A fresh pyjaeger on `storage`, fed `args.spans` spans, then searched."""
    flags = ["--memory.max-traces", "0"]
    index_prefix = ""
    db: Path | None = None
    if storage == "sqlite":
        db = Path(tempfile.mkdtemp(prefix="pyjaeger-bench-", dir=args.sqlite_dir)) / "traces.db"
        flags = ["--span-storage.type=sqlite", f"--sqlite.path={db}"]
    elif storage == "elasticsearch":
        assert es is not None
        index_prefix = scratch_prefix()
        flags = [
            "--span-storage.type=elasticsearch",
            f"--es.server-urls={es.url}",
            f"--es.index-prefix={index_prefix}",
            "--es.num-replicas=0",
        ]
    server = start_pyjaeger([*flags, *args.server_arg], gc_mode=args.server_gc)
    trace_prefix = random.getrandbits(31) | 1
    try:
        time.sleep(1.0)
        idle = server.rss()
        marks: dict[str, tuple[float, float, float | None, EsStats | None]] = {}

        def on_window(edge: str) -> None:
            es_cpu = es.cpu_seconds() if es is not None else None
            marks[edge] = (time.monotonic(), server.cpu_seconds(), es_cpu, es_stats(es.url) if es else None)

        start_us = now_us()
        stats, _ = _send_phase(
            server,
            args.storage_protocol,
            args,
            warmup=0.0,
            seconds=float("inf"),
            max_spans=args.spans,
            on_window=on_window,
            prefix=trace_prefix,
            refused_pause=0.01,
            keep_batches=True,
        )
        t0, cpu0, es_cpu0, es0 = marks["start"]
        t_accepted = marks["end"][0]
        total = stats.total_ok * BATCH
        try:
            server.wait_stored(total, timeout=args.index_timeout)
        except TimeoutError as e:
            print(f"  {e}")
        t_stored = time.monotonic()
        if es is not None:
            indexed, t_indexed = wait_indexed(es.url, index_prefix, total, args.index_timeout)
        else:
            indexed, t_indexed = int(server.stored_spans() or 0), t_stored
        disk = _file_size(db) if db is not None else None
        cpu = server.cpu_seconds() - cpu0
        es_cpu = es.cpu_seconds() if es is not None else None
        es_delta = es_stats(es.url) - es0 if es is not None and es0 is not None else None
        _, metrics = http_get(HOST, *server.metrics) if server.metrics else (0, b"")
        text = metrics.decode()
        time.sleep(1.0)
        run = StorageRun(
            storage,
            total,
            stats.total_refused,
            t_accepted - t0,
            t_stored - t0,
            t_indexed - t0,
            indexed,
            metric_sum(text, PYJAEGER_STORED, 'result="err"'),
            cpu,
            idle,
            server.rss(),
            server.peak_rss(),
            metric_sum(text, "jaeger_collector_save_latency_count"),
            metric_sum(text, "jaeger_collector_save_latency_sum"),
            None if es_cpu is None or es_cpu0 is None else es_cpu - es_cpu0,
            es.rss() if es is not None else None,
            es.rss_anon() if es is not None else None,
            es_delta,
            disk,
        )
        print(
            f"{storage}: {total:,} spans accepted in {run.accept_s:.1f}s, written in {run.store_s:.1f}s, "
            f"searchable in {run.index_s:.1f}s; {run.refused:,} refused batches retried; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if stats.first_error:
            print(f"  first sender error: {stats.first_error}")
        run.searches = measure_searches(
            server.query or 0,
            trace_prefix,
            stats.accepted_batches,
            start_us - 60_000_000,
            now_us() + 60_000_000,
            args.queries,
            N_TRACES,
            SPANS_PER_TRACE,
        )
        run.server_rss_after_queries = server.rss()
    finally:
        run_code = server.stop(timeout=120)
        if es is not None and args.es_url and index_prefix:
            delete_prefix(es.url, index_prefix)
        disk_closed = _file_size(db) if db is not None else None
        if db is not None:
            shutil.rmtree(db.parent, ignore_errors=True)
    if run_code:
        print(f"{storage}: pyjaeger exited with {run_code}:\n{server.log_tail()}")
    run.exit_code = run_code
    run.disk_closed = disk_closed
    return run


def storage_phase(storages: list[str], args: argparse.Namespace) -> None:
    print(
        f"\n== storage: {args.spans:,} spans over {PROTOCOL_NAMES[args.storage_protocol]} into "
        f"{', '.join(storages)}, then {args.queries} rounds of searches"
    )
    es: EsNode | None = None
    runs: list[StorageRun] = []
    try:
        for storage in storages:
            if storage == "elasticsearch" and es is None:
                t = time.monotonic()
                es = external_node(args.es_url) if args.es_url else start_node(args.es_heap)
                where = "existing cluster" if args.es_url else f"own node, heap {args.es_heap}"
                print(
                    f"Elasticsearch {es.version} at {es.url} ({where}, {time.monotonic() - t:.0f}s to start);"
                    " "
                    "pyjaeger with --es.num-replicas=0 and a fresh --es.index-prefix; "
                    f"extra server flags: {' '.join(args.server_arg) or 'none'}",
                    flush=True,
                )
            runs.append(storage_run(storage, es, args))
    finally:
        if es is not None:
            es.stop()
    print_storage_report(runs)


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "both", "all"], default="all")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds sent before the window")
    parser.add_argument("--senders", type=int, default=1, help="sender processes")
    parser.add_argument("--connections", type=int, default=4, help="connections (in-flight calls) per sender")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every target; medians are reported")
    parser.add_argument(
        "--rss", action=argparse.BooleanOptionalAction, default=True, help="run the RSS phase"
    )
    parser.add_argument("--rss-spans", type=int, default=1_000_000, help="spans to store in the RSS phase")
    parser.add_argument("--rss-protocol", choices=PROTOCOLS, default="http")
    parser.add_argument("--jaeger", metavar="PATH", help="a real Jaeger binary to measure as well")
    parser.add_argument(
        "--jaeger-config", metavar="FILE", help="its configuration (bench/build_jaeger.sh prints both)"
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra pyjaeger flag, e.g. --server-arg=--collector.queue-size=10000",
    )
    parser.add_argument(
        "--server-gc",
        choices=GC_MODES,
        default="default",
        help="diagnostic: run pyjaeger with its cyclic GC off, or freezing live objects every 0.5s",
    )
    parser.add_argument(
        "--storage",
        help="run the storage phase instead: comma-separated backends (memory, sqlite, elasticsearch) fed "
        "--spans spans each, then searched; ratios are to memory",
    )
    parser.add_argument("--spans", type=int, default=100_000, help="spans per backend in the storage phase")
    parser.add_argument("--storage-protocol", choices=PROTOCOLS, default="http")
    parser.add_argument("--queries", type=int, default=100, help="rounds of searches in the storage phase")
    parser.add_argument("--es-url", help="use this cluster instead of starting a node")
    parser.add_argument(
        "--sqlite-dir", help="where the sqlite run's database goes (default: the system's tmp)"
    )
    parser.add_argument("--es-heap", default="2g", help="heap of the node the storage phase starts")
    parser.add_argument(
        "--index-timeout", type=float, default=600.0, help="seconds to wait for every span to be searchable"
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.rss_spans = min(args.seconds, 3.0), min(args.warmup, 0.5), 50_000
        args.spans, args.queries = min(args.spans, 30_000), min(args.queries, 30)
    if args.storage:
        storages = [s.strip() for s in args.storage.split(",") if s.strip()]
        unknown = set(storages) - {"memory", "sqlite", "elasticsearch"}
        if unknown or not storages:
            parser.error(f"--storage: unknown backend(s) {', '.join(sorted(unknown))}")
        print(f"machine: {machine()}")
        storage_phase(storages, args)
        return
    protocols = {"both": ["http", "grpc"], "all": list(PROTOCOLS)}.get(args.protocol, [args.protocol])

    targets: list[tuple[str, Callable[[], Server]]] = [
        ("baseline", start_baseline),
        ("pyjaeger", lambda: start_pyjaeger(args.server_arg, gc_mode=args.server_gc)),
    ]
    if args.jaeger:
        targets.append(("jaeger", lambda: start_jaeger(args.jaeger, config=args.jaeger_config)))

    print(f"machine: {machine()}")
    print(
        f"load: {BATCH} spans/request ({N_TRACES} traces x {SPANS_PER_TRACE} spans, "
        "8 attributes + 1 event each), "
        f"{args.senders} sender process(es) x {args.connections} connections, "
        f"{args.warmup:g}s warm-up + {args.seconds:g}s measured per target, fresh server per target"
    )
    if args.server_gc != "default":
        print(f"DIAGNOSTIC RUN: pyjaeger runs with --server-gc {args.server_gc} (not how it ships)")
    runs: list[Run] = []
    for proto in protocols:
        print(f"\n== {PROTOCOL_NAMES[proto]}")
        print(HEADER)
        for _ in range(args.rounds):
            for name, start in targets:
                r = measure(name, start, proto, args)
                runs.append(r)
                print(row(r), flush=True)
        med = {
            name: statistics.median(
                r.accepted_per_s for r in runs if r.protocol == proto and r.target == name
            )
            for name, _ in targets
        }
        base = med["baseline"]
        print(f"pyjaeger / baseline (transport ceiling): {med['pyjaeger'] / base:.2f}")
        if "jaeger" in med:
            print(f"jaeger   / baseline (transport ceiling): {med['jaeger'] / base:.2f}")
            print(f"pyjaeger / jaeger                      : {med['pyjaeger'] / med['jaeger']:.2f}")
        if args.rounds > 1:
            print("medians of accepted/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in med.items()))

    if args.rss:
        print(
            f"\n== RSS: {args.rss_spans:,} spans stored over {PROTOCOL_NAMES[args.rss_protocol]}, "
            "no trace limit"
        )
        flags = ["--memory.max-traces", "0", *args.server_arg]
        rss_phase("pyjaeger", lambda: start_pyjaeger(flags, gc_mode=args.server_gc), args.rss_protocol, args)
        if args.jaeger:
            # Jaeger's all-in-one keeps 100,000 traces: exactly 1M spans at 10 spans per trace.
            rss_phase(
                "jaeger",
                lambda: start_jaeger(args.jaeger, config=args.jaeger_config),
                args.rss_protocol,
                args,
            )


if __name__ == "__main__":
    main()
