"""End-to-end query benchmark: latency of Jaeger's query API over a loaded in-memory store.

Starts an all-in-one (`--memory.max-traces 0`), loads `--traces` traces of 2 spans each (5
services, several operations, every 10th trace's root span tagged http.status_code=500) over
OTLP/gRPC with raw bytes, waits until its metrics say every span is stored, then times, client
side over one keep-alive HTTP connection, interleaved round by round:

- `GET /api/services`: the cheapest route, the transport + framework floor (the baseline);
- `GET /api/traces/{id}` for random stored ids;
- `GET /api/traces?service=frontend&tags={"http.status_code":"500"}&limit=20&start=&end=`;
- `GET /api/traces?service=frontend&limit=20&start=&end=`;
and, fewer times, a tag search that matches nothing (the worst case: every span of the service
in the window is examined). Latencies are reported as p50/p99 and as ratios to the baseline's.

With `--jaeger PATH` a real Jaeger (memory storage, `--jaeger-config`) is loaded and timed the same
way after pyjaeger, and the p99s are printed as ratios.

    .venv/bin/python bench/query.py [--traces 100000] [--iterations 1000] [--quick]
        [--jaeger .cache/jaeger-v1.76.0/jaeger --jaeger-config .cache/jaeger-v1.76.0/all-in-one-1m.yaml]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    GRPC_METHOD,
    HOST,
    MB,
    QUERY_SERVICES,
    Client,
    PayloadTemplate,
    Server,
    machine,
    percentile,
    query_spans,
    start_jaeger,
    start_pyjaeger,
    trace_id_bytes,
)

TRACES_PER_REQUEST = 50
SPANS_PER_TRACE = 2


def load(server: Server, n_traces: int, connections: int, prefix: int) -> tuple[float, int]:
    """Send `n_traces` traces over OTLP/gRPC, retrying refused batches; (seconds, refusals)."""
    import grpc

    tpl = PayloadTemplate(query_spans(TRACES_PER_REQUEST), TRACES_PER_REQUEST)
    channel = grpc.insecure_channel(f"{HOST}:{server.otlp_grpc}")
    grpc.channel_ready_future(channel).result(timeout=30)
    export = channel.unary_unary(GRPC_METHOD)  # raw bytes both ways
    n_batches = n_traces // TRACES_PER_REQUEST
    batches = itertools.count()
    refused = [0] * connections
    failures: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            while True:
                b = next(batches)
                if b >= n_batches:
                    return
                first = b * TRACES_PER_REQUEST
                ids = [trace_id_bytes(prefix, 0, first + k) for k in range(TRACES_PER_REQUEST)]
                body = tpl.render(ids, time.time_ns())
                while True:
                    try:
                        export(body, timeout=60)
                        break
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                            raise
                        refused[i] += 1
                        time.sleep(0.005)
        except BaseException as e:
            failures.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()
    if failures:
        raise failures[0]
    return time.monotonic() - t0, sum(refused)


class Route:
    def __init__(self, name: str, path: Callable[[], str], check: Callable[[dict[str, object]], str]) -> None:
        self.name = name
        self.path = path
        self.check = check  # "" when the answer is as expected, else what is wrong
        self.ms: list[float] = []
        self.bytes = 0
        self.failures = 0
        self.first_failure = ""

    def hit(self, client: Client) -> None:
        status, body, ms = client.get(self.path())
        problem = f"HTTP {status}" if status != 200 else self.check(json.loads(body))
        if problem:
            self.failures += 1
            self.first_failure = self.first_failure or problem
            return
        self.ms.append(ms)
        self.bytes += len(body)


def expect_traces(n: int, spans: int | None = None) -> Callable[[dict[str, object]], str]:
    def check(doc: dict[str, object]) -> str:
        data = doc.get("data")
        if not isinstance(data, list) or len(data) != n:
            return f"expected {n} traces, got {len(data) if isinstance(data, list) else data!r}"
        if spans is not None and any(len(t["spans"]) != spans for t in data):
            return f"expected {spans} spans per trace"
        return ""

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000, help="traces to load (2 spans each)")
    parser.add_argument("--iterations", type=int, default=1000, help="rounds of the timed routes")
    parser.add_argument("--scan-iterations", type=int, default=20, help="rounds of the no-match search")
    parser.add_argument("--connections", type=int, default=4, help="in-flight gRPC calls while loading")
    parser.add_argument("--server-arg", action="append", default=[], help="extra pyjaeger flag")
    parser.add_argument("--jaeger", metavar="PATH", help="a real Jaeger binary to measure as well")
    parser.add_argument(
        "--jaeger-config", metavar="FILE", help="its configuration (bench/build_jaeger.sh prints both)"
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    args = parser.parse_args()
    if args.quick:
        args.traces, args.iterations, args.scan_iterations = 10_000, 100, 5
    print(f"machine: {machine()}")
    targets: list[tuple[str, Callable[[], Server]]] = [
        ("pyjaeger", lambda: start_pyjaeger(["--memory.max-traces", "0", *args.server_arg]))
    ]
    if args.jaeger:
        targets.append(("jaeger", lambda: start_jaeger(args.jaeger, config=args.jaeger_config)))
    results: dict[str, dict[str, float]] = {}
    for name, start in targets:
        print(f"\n== {name}")
        results[name] = measure(start(), args)
    if "jaeger" in results:
        print("\np99, pyjaeger / jaeger (same run):")
        for route, p99 in results["pyjaeger"].items():
            other = results["jaeger"].get(route)
            if other:
                print(f"  {route:<36} {p99:8.2f} / {other:8.2f} ms = {p99 / other:.2f}")


def measure(server: Server, args: argparse.Namespace) -> dict[str, float]:
    """Load the server, time the routes, print them; route name → p99 ms."""
    n_traces = max(1, args.traces // TRACES_PER_REQUEST) * TRACES_PER_REQUEST
    n_spans = n_traces * SPANS_PER_TRACE
    prefix = random.getrandbits(31) | 1
    rng = random.Random(1)
    p99s: dict[str, float] = {}
    try:
        time.sleep(1.0)
        idle = server.rss()
        load_start_us = time.time_ns() // 1000
        cpu0 = server.cpu_seconds()
        _, refused = load(server, n_traces, args.connections, prefix)
        server.wait_stored(n_spans, timeout=600)
        load_s = (time.time_ns() // 1000 - load_start_us) / 1e6
        cpu = server.cpu_seconds() - cpu0
        time.sleep(1.0)
        rss = server.rss()
        print(
            f"loaded {n_traces:,} traces x {SPANS_PER_TRACE} spans over OTLP/gRPC in {load_s:.1f}s "
            f"({n_spans / load_s:,.0f} spans/s stored, {cpu / n_spans * 10_000:.3f} server CPU s "
            f"per 10k spans, {refused} refused batches retried)"
        )
        print(
            f"RSS idle {idle / MB:.0f} MB -> {rss / MB:.0f} MB after loading: "
            f"{(rss - idle) / n_spans:,.0f} bytes per stored span"
        )

        window = f"&start={load_start_us - 60_000_000}&end={time.time_ns() // 1000 + 60_000_000}"
        svc = QUERY_SERVICES[0]
        hit_tags = urllib.parse.quote(json.dumps({"http.status_code": "500"}))
        miss_tags = urllib.parse.quote(json.dumps({"http.status_code": "599"}))

        def random_trace() -> str:
            return "/api/traces/" + trace_id_bytes(prefix, 0, rng.randrange(n_traces)).hex()

        services = Route("GET /api/services  (baseline)", lambda: "/api/services", lambda d: "")
        routes = [
            services,
            Route("GET /api/traces/{id}", random_trace, expect_traces(1, SPANS_PER_TRACE)),
            Route(
                "search service+tag 500, limit 20",
                lambda: f"/api/traces?service={svc}&tags={hit_tags}&limit=20{window}",
                expect_traces(20),
            ),
            Route(
                "search service, limit 20",
                lambda: f"/api/traces?service={svc}&limit=20{window}",
                expect_traces(20),
            ),
        ]
        scan = Route(
            "search service+tag no match (scan)",
            lambda: f"/api/traces?service={svc}&tags={miss_tags}&limit=20{window}",
            expect_traces(0),
        )
        client = Client(server.query or 0)
        for route in [*routes, scan]:  # warm-up: first hits import and cache
            for _ in range(3):
                route.hit(client)
            route.ms.clear()
            route.bytes = 0
        t0 = time.monotonic()
        for _ in range(args.iterations):
            for route in routes:
                route.hit(client)
        for _ in range(args.scan_iterations):
            scan.hit(client)
        elapsed = time.monotonic() - t0
        rss_after = server.rss()

        base = percentile(services.ms, 50)
        touching = n_traces * 2 // len(QUERY_SERVICES)  # root or child span in the service
        print(
            f"\n{args.iterations} interleaved rounds ({args.scan_iterations} for the scan), one keep-alive "
            f"connection, {elapsed:.1f}s; the scan examines the {touching * SPANS_PER_TRACE:,} spans of the "
            f"{touching:,} traces that touch {svc}"
        )
        print(
            f"{'route':<36} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'body KB':>8} "
            f"{'p50 x base':>10} {'p99 x base':>10}"
        )
        base99 = percentile(services.ms, 99)
        for route in [*routes, scan]:
            p50, p99 = percentile(route.ms, 50), percentile(route.ms, 99)
            size = route.bytes / len(route.ms) / 1024 if route.ms else float("nan")
            worst = max(route.ms, default=0)
            line = (
                f"{route.name:<36} {len(route.ms):>5} {p50:>8.2f} {p99:>8.2f} {worst:>8.1f} "
                f"{size:>8.1f} {p50 / base:>10.1f} {p99 / base99:>10.1f}"
            )
            if route.failures:
                line += f"  [{route.failures} failed; first: {route.first_failure}]"
            print(line)
            p99s[route.name] = p99
        print(f"RSS after the queries: {rss_after / MB:.0f} MB")
    finally:
        code = server.stop(timeout=120)
    if code:
        print(f"{server.name} exited with {code}:\n{server.log_tail()}")
    return p99s


if __name__ == "__main__":
    main()
