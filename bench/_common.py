"""Shared helpers for the end-to-end benchmarks (`bench/ingest.py`, `bench/query.py`,
`bench/agent_udp.py`).

- servers as subprocesses on free 127.0.0.1 ports (every port pyjaeger opens, TCP and UDP): pyjaeger
  all-in-one, a trivial baseline server on the same stack (uvicorn+starlette and grpc.aio, via
  `pyjaeger.servers`), and a real Jaeger (on its default ports);
- the server's RSS (/proc/<pid>/status) and CPU seconds (/proc/<pid>/stat); a UDP socket's kernel
  drop counter (/proc/net/udp);
- Prometheus text parsing, percentiles, a keep-alive HTTP GET;
- `PayloadTemplate`: an ExportTraceServiceRequest encoded once, whose trace ids and timestamps are
  placeholders refilled per request by slicing, so the sender stays cheap;
- `JaegerTemplate`: the same for a thrift binary `Batch` (HTTP 14268) or an api_v2
  `PostSpansRequest` (gRPC 14250), re-encoded once a second with current times.

Run as a script it is the baseline server:
    python bench/_common.py baseline --http-port P --grpc-port P --admin-port P
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import math
import os
import platform
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyjaeger.codecs.api_v2 import COLLECTOR_SERVICE, POST_SPANS_METHOD, encode_post_spans
from pyjaeger.codecs.jaeger_thrift import encode_batch
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
GRPC_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
API_V2_METHOD = POST_SPANS_METHOD
PROTOBUF = "application/x-protobuf"
THRIFT = "application/x-thrift"
PYJAEGER_STORED = "jaeger_collector_spans_saved_by_svc_total"
JAEGER_STORED = "otelcol_exporter_sent_spans_total"
MB = 1024 * 1024

# ---------------------------------------------------------------------------------------------
# /proc, percentiles, metrics


def read_rss(pid: int, key: str = "VmRSS") -> int:
    """Resident set size of `pid` in bytes (VmRSS; `key="VmHWM"` for the peak)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} for pid {pid}")


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def read_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid`, every thread included."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def descendants(pid: int) -> list[int]:
    """The live processes below `pid` (pyjaeger's ingest workers, multiprocessing's helpers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(_stat_fields(int(entry))[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def read_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and every process below it: the live ones, and those it has reaped
    (cutime + cstime)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = _stat_fields(p)
        except OSError:
            continue  # exited meanwhile: its parent's cutime has it
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / _CLK_TCK
    return total


def read_tree_rss(pid: int, key: str = "VmRSS") -> int:
    """`read_rss` summed over `pid` and every live process below it (for "VmHWM", the sum of
    each process's own peak)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            total += read_rss(p, key)
        except (OSError, RuntimeError):
            continue
    return total


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def metric_sum(text: str, name: str, require: str = "") -> float:
    """Sum of the samples of `name` in Prometheus text whose labels contain `require`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue
        labels, _, value = rest.rpartition(" ")
        if require and require not in labels:
            continue
        total += float(value)
    return total


class Client:
    """One keep-alive HTTP connection; `get` returns (status, body, milliseconds)."""

    def __init__(self, port: int, timeout: float = 120) -> None:
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def get(self, path: str) -> tuple[int, bytes, float]:
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            raise
        return resp.status, body, (time.perf_counter() - t0) * 1000


def http_get(host: str, port: int, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    """One GET on a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback TCP ports (all held open until every one is chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_udp_ports(n: int) -> list[int]:
    """`n` distinct free loopback UDP ports."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((HOST, port)) != 0


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def udp_socket_stats(port: int) -> tuple[int, int] | None:
    """(drops, rx_queue bytes) of the IPv4/IPv6 UDP socket bound to local `port`, from /proc/net/udp*.

    `drops` counts datagrams the kernel discarded because the socket's receive buffer was full.
    None when no socket has that port (or /proc is not Linux's). Several sockets: summed.
    """
    found = None
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 13 or int(cols[1].rsplit(":", 1)[1], 16) != port:
                continue
            drops, rx = int(cols[-1]), int(cols[4].split(":")[1], 16)
            found = (drops, rx) if found is None else (found[0] + drops, found[1] + rx)
    return found


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {dt.date.today()}"


# ---------------------------------------------------------------------------------------------
# servers


@dataclass
class Server:
    """A server subprocess and the ports the benchmarks use."""

    name: str
    proc: subprocess.Popen[bytes]
    otlp_http: int
    otlp_grpc: int
    query: int | None
    health: tuple[int, str]  # (port, path) answering 200 when ready
    metrics: tuple[int, str] | None  # (port, path) of Prometheus metrics
    stored_metric: str | None  # counter of spans written to storage
    stored_require: str = ""
    log_path: Path = field(default_factory=Path)
    exit_code: int | None = None
    jaeger_http: int | None = None  # thrift POST /api/traces (14268)
    jaeger_grpc: int | None = None  # api_v2 CollectorService (14250)
    udp_compact: int | None = None  # agent emitBatch, compact (6831)

    @property
    def pid(self) -> int:
        return self.proc.pid

    # A server's figures cover its processes: pyjaeger's ingest workers are part of it.
    def rss(self) -> int:
        return read_tree_rss(self.pid)

    def peak_rss(self) -> int:
        return read_tree_rss(self.pid, "VmHWM")

    def cpu_seconds(self) -> float:
        return read_tree_cpu_seconds(self.pid)

    def stored_spans(self) -> float | None:
        """Spans written to storage so far, from the server's metrics; None when it has none."""
        if self.metrics is None or self.stored_metric is None:
            return None
        status, body = http_get(HOST, self.metrics[0], self.metrics[1])
        if status != 200:
            raise RuntimeError(f"{self.name}: metrics answered {status}")
        return metric_sum(body.decode(), self.stored_metric, self.stored_require)

    def wait_stored(self, n: float, timeout: float = 120.0) -> float:
        """Poll metrics until at least `n` spans are stored; returns the count."""
        deadline = time.monotonic() + timeout
        while True:
            stored = self.stored_spans()
            if stored is None or stored >= n:
                return stored if stored is not None else math.nan
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {stored:.0f} of {n:.0f} spans stored after {timeout}s")
            self.check_alive()
            time.sleep(0.05)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait (the queue drains), SIGKILL if it hangs; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        if self.exit_code == 0:  # keep the log only when something went wrong
            self.log_path.unlink(missing_ok=True)
        return self.exit_code


def _spawn(name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    log_fd, log_name = tempfile.mkstemp(prefix=f"bench-{name.split()[0]}-", suffix=".log")
    try:
        proc = subprocess.Popen(argv, stdout=log_fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        os.close(log_fd)
    return proc, Path(log_name)


def _wait_healthy(server: Server, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    port, path = server.health
    while True:
        server.check_alive()
        try:
            if http_get(HOST, port, path, timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"{server.name} not healthy after {timeout}s:\n{server.log_tail()}")
        time.sleep(0.05)


def pyjaeger_command() -> list[str]:
    """The `pyjaeger` console script beside this interpreter, else `python -m pyjaeger`.

    The script does not put the working directory on sys.path, so the server imports the
    installed pyjaeger (or what PYTHONPATH names) even when run from the repo root.
    """
    script = Path(sys.executable).parent / "pyjaeger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pyjaeger"]


# Diagnostics only (`--server-gc`): run the server with the cyclic GC off, or with everything
# alive frozen out of it every 0.5 s, to measure what the collector costs. Not how pyjaeger runs.
_GC_WRAPPER = """\
import gc, sys, threading, time
del sys.path[0]  # the '' that -c adds: import the installed pyjaeger, not the working directory's
mode = sys.argv.pop(1)
if mode == "off":
    gc.disable()
elif mode == "freeze":
    def freeze():
        while True:
            time.sleep(0.5)
            gc.freeze()
    threading.Thread(target=freeze, daemon=True).start()
from pyjaeger.cmd.cli import main
sys.exit(main())
"""
GC_MODES = ("default", "off", "freeze")


def start_pyjaeger(flags: Sequence[str] = (), timeout: float = 30.0, gc_mode: str = "default") -> Server:
    """`pyjaeger all-in-one --log-level warn` on free ports, once its admin `GET /` answers 200.

    Every port it opens is a free loopback one, so it never meets another server's defaults.
    """
    grpc_port, http_port, query_port, admin_port, j_http, j_grpc, sampling = free_ports(7)
    compact, binary = free_udp_ports(2)
    if gc_mode not in GC_MODES:
        raise ValueError(f"gc_mode must be one of {GC_MODES}")
    command = pyjaeger_command() if gc_mode == "default" else [sys.executable, "-c", _GC_WRAPPER, gc_mode]
    argv = [
        *command,
        "all-in-one",
        "--log-level",
        "warn",
        f"--collector.otlp.grpc.host-port={HOST}:{grpc_port}",
        f"--collector.otlp.http.host-port={HOST}:{http_port}",
        f"--query.http-server.host-port={HOST}:{query_port}",
        f"--query.grpc-server.host-port={HOST}:0",
        f"--admin.http.host-port={HOST}:{admin_port}",
        f"--collector.http-server.host-port={HOST}:{j_http}",
        f"--collector.grpc-server.host-port={HOST}:{j_grpc}",
        f"--processor.jaeger-compact.server-host-port={HOST}:{compact}",
        f"--processor.jaeger-binary.server-host-port={HOST}:{binary}",
        f"--http-server.host-port={HOST}:{sampling}",
        *flags,
    ]
    proc, log = _spawn("pyjaeger", argv)
    server = Server(
        "pyjaeger" if gc_mode == "default" else f"pyjaeger[gc={gc_mode}]",
        proc,
        http_port,
        grpc_port,
        query_port,
        (admin_port, "/"),
        (admin_port, "/metrics"),
        PYJAEGER_STORED,
        'result="ok"',
        log,
        jaeger_http=j_http,
        jaeger_grpc=j_grpc,
        udp_compact=compact,
    )
    return _wait_healthy(server, timeout)


def start_baseline(timeout: float = 30.0) -> Server:
    """The trivial server on pyjaeger's stack: the transport + framework ceiling."""
    grpc_port, http_port, admin_port, j_http, j_grpc = free_ports(5)
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "baseline",
        f"--http-port={http_port}",
        f"--grpc-port={grpc_port}",
        f"--admin-port={admin_port}",
        f"--thrift-http-port={j_http}",
        f"--api-v2-grpc-port={j_grpc}",
    ]
    proc, log = _spawn("baseline", argv)
    server = Server(
        "baseline",
        proc,
        http_port,
        grpc_port,
        None,
        (admin_port, "/"),
        None,
        None,
        "",
        log,
        jaeger_http=j_http,
        jaeger_grpc=j_grpc,
    )
    return _wait_healthy(server, timeout)


def start_jaeger(path: str, timeout: float = 60.0, config: str | None = None) -> Server:
    """A real Jaeger (v2 binary, default config or `config`: memory storage) on its default ports.
    bench/build_jaeger.sh builds one and writes the configuration the comparisons use."""
    for port in (4317, 4318, 16686, 8888, 13133, 14268, 14250):
        if not port_free(port):
            raise RuntimeError(f"port {port} is taken: Jaeger needs its default ports")
    for port in (6831, 6832):
        if not udp_port_free(port):
            raise RuntimeError(f"UDP port {port} is taken: Jaeger needs its default ports")
    proc, log = _spawn("jaeger", [path, *(["--config", config] if config else [])])
    server = Server(
        "jaeger",
        proc,
        4318,
        4317,
        16686,
        (13133, "/status"),
        (8888, "/metrics"),
        JAEGER_STORED,
        "",
        log,
        jaeger_http=14268,
        jaeger_grpc=14250,
        udp_compact=6831,
    )
    return _wait_healthy(server, timeout)


# ---------------------------------------------------------------------------------------------
# payloads

BASE_US = 1_111_111_111_111_111  # placeholder start time (µs) of the template's first span
BASE_NS = BASE_US * 1000
_U64 = struct.Struct("<Q")


def trace_placeholder(k: int) -> bytes:
    """A 16-byte trace id that cannot occur by accident in an encoded payload."""
    return bytes.fromhex("a55ac33c") + b"tracehold" + k.to_bytes(3, "big")


class PayloadTemplate:
    """An encoded ExportTraceServiceRequest whose trace ids and times are refilled per request.

    The template is encoded once; its placeholder trace ids (16 bytes) and fixed64 timestamps
    (8 bytes) are located, and `render` joins the unchanged slices with new values: new trace
    ids, and times shifted so the template's first start time becomes `now_ns`.
    """

    def __init__(self, spans: Sequence[Span], n_traces: int) -> None:
        body = encode_export_request(spans)
        self.body = body
        self.n_traces = n_traces
        self.n_spans = len(spans)
        slots: list[tuple[int, int, int, int]] = []  # (offset, length, trace index or -1, rel ns)
        for k in range(n_traces):
            ph = trace_placeholder(k)
            for off in _find_all(body, ph):
                slots.append((off, 16, k, 0))
        times = set()
        for s in spans:
            times.add(s.start_time * 1000)
            times.add((s.start_time + s.duration) * 1000)
            times.update(log.timestamp * 1000 for log in s.logs)
        expected = sum(2 + len(s.logs) for s in spans)
        found = 0
        for t in times:
            for off in _find_all(body, _U64.pack(t)):
                slots.append((off, 8, -1, t - BASE_NS))
                found += 1
        n_trace_slots = sum(1 for s in slots if s[2] >= 0)
        if n_trace_slots != len(spans) or found != expected:
            raise AssertionError(
                f"template: {n_trace_slots} trace ids for {len(spans)} spans, {found} of {expected} times"
            )
        slots.sort()
        parts: list[bytes] = []
        prev = 0
        for off, length, _, _ in slots:
            if off < prev:
                raise AssertionError("overlapping placeholders")
            parts.append(body[prev:off])
            parts.append(b"")
            prev = off + length
        parts.append(body[prev:])
        self._parts = parts
        self._trace_slots = [(2 * i + 1, k) for i, (_, _, k, _) in enumerate(slots) if k >= 0]
        self._time_slots = [(2 * i + 1, rel) for i, (_, _, k, rel) in enumerate(slots) if k < 0]

    def render(self, trace_ids: Sequence[bytes], now_ns: int) -> bytes:
        parts = self._parts.copy()
        for pos, k in self._trace_slots:
            parts[pos] = trace_ids[k]
        pack = _U64.pack
        for pos, rel in self._time_slots:
            parts[pos] = pack(now_ns + rel)
        return b"".join(parts)


class JaegerTemplate:
    """The ingest workload as a thrift binary `Batch` or an api_v2 `PostSpansRequest`, refilled per
    request with new trace ids by slicing, like `PayloadTemplate`.

    Times are not sliced (api_v2 encodes them as varints, whose length varies): the batch is encoded
    again with the current time whenever the wall-clock second changes, about 1 ms of work.
    api_v2 carries a trace id as 16 bytes; thrift as two i64 fields (low, then high, 8 bytes each,
    big-endian), so the low half is refilled per trace and the high half, which `trace_id_bytes`
    makes the same for every trace of a request, from the first trace's id.
    """

    def __init__(self, protocol: str, n_traces: int, spans_per_trace: int) -> None:
        if protocol not in ("thrift-http", "api-v2-grpc"):
            raise ValueError(f"no Jaeger template for {protocol!r}")
        self.protocol = protocol
        self.n_traces = n_traces
        self.spans_per_trace = spans_per_trace
        self._second = -1
        self._parts: list[bytes] = []
        self._slots: list[tuple[int, int, int, int]] = []  # (part index, trace, from, to)
        self._build(time.time_ns() // 1000)

    def _build(self, now_us: int) -> None:
        spans = ingest_spans(self.n_traces, self.spans_per_trace, base_us=now_us)
        expected = sum(1 + len(s.references) for s in spans)
        found: list[tuple[int, int, int, int]] = []  # (offset, trace, from, to)
        if self.protocol == "api-v2-grpc":
            body = encode_post_spans(spans)
            for k in range(self.n_traces):
                found += [(off, k, 0, 16) for off in _find_all(body, trace_placeholder(k))]
            ok = len(found) == expected
        else:
            body = encode_batch(spans)
            for k in range(self.n_traces):
                found += [(off, k, 8, 16) for off in _find_all(body, trace_placeholder(k)[8:])]
            high = [(off, 0, 0, 8) for off in _find_all(body, trace_placeholder(0)[:8])]
            ok = len(found) == expected == len(high)
            found += high
        if not ok:
            raise AssertionError(f"{self.protocol} template: {len(found)} id slots, {expected} expected")
        found.sort()
        parts: list[bytes] = []
        slots = []
        prev = 0
        for off, k, a, b in found:
            if off < prev:
                raise AssertionError("overlapping placeholders")
            parts.append(body[prev:off])
            slots.append((len(parts), k, a, b))
            parts.append(b"")
            prev = off + (b - a)
        parts.append(body[prev:])
        self._parts, self._slots = parts, slots  # one assignment each: threads may render meanwhile

    def render(self, trace_ids: Sequence[bytes], now_ns: int | None = None) -> bytes:
        """The batch with `trace_ids`; its times are those of the current second (or `now_ns`'s)."""
        if now_ns is None:
            now_ns = time.time_ns()
        second = now_ns // 1_000_000_000
        if second != self._second:
            self._second = second
            self._build(now_ns // 1000)
        parts = self._parts.copy()
        for pos, k, a, b in self._slots:
            parts[pos] = trace_ids[k][a:b]
        return b"".join(parts)


def _find_all(data: bytes, needle: bytes) -> list[int]:
    out = []
    i = data.find(needle)
    while i >= 0:
        out.append(i)
        i = data.find(needle, i + 1)
    return out


def trace_id_bytes(prefix: int, worker: int, counter: int) -> bytes:
    """Unique, reproducible 128-bit trace ids: 32-bit run prefix, 32-bit worker, 64-bit counter."""
    return struct.pack(">IIQ", prefix, worker, counter)


_S, _I, _B, _F = ValueType.STRING, ValueType.INT64, ValueType.BOOL, ValueType.FLOAT64


def ingest_spans(n_traces: int = 10, spans_per_trace: int = 10, base_us: int = BASE_US) -> list[Span]:
    """The ingest workload: one service, each span with 8 attributes (mixed types) and 1 event.

    Trace ids are `trace_placeholder(k)`; the first span starts at `base_us`.
    """
    process = Process(
        "bench-ingest",
        [KeyValue("telemetry.sdk.language", _S, "python"), KeyValue("host.name", _S, "bench-host")],
    )
    spans = []
    for k in range(n_traces):
        tid = int.from_bytes(trace_placeholder(k), "big")
        root = k * spans_per_trace + 1
        for j in range(spans_per_trace):
            i = k * spans_per_trace + j
            start = base_us + i * 1000
            tags = [
                KeyValue("otel.scope.name", _S, "bench"),
                KeyValue("http.method", _S, "GET"),
                KeyValue("http.url", _S, f"https://example.com/api/items/{i}"),
                KeyValue("http.status_code", _I, 500 if i % 17 == 0 else 200),
                KeyValue("net.peer.port", _I, 443),
                KeyValue("db.system", _S, "postgresql"),
                KeyValue("db.statement", _S, "SELECT * FROM items WHERE id = $1"),
                KeyValue("cache.hit", _B, i % 2 == 0),
                KeyValue("ratio", _F, i / 7),
                KeyValue("span.kind", _S, "server" if j == 0 else "client"),
            ]
            refs = [SpanRef(SpanRefType.CHILD_OF, tid, root)] if j else []
            log = Log(start + 3, [KeyValue("event", _S, "cache-lookup"), KeyValue("n", _I, i)])
            spans.append(Span(tid, root + j, f"op-{j % 5}", refs, 1, start, 7 + i % 11, tags, [log], process))
    return spans


QUERY_SERVICES = ("frontend", "checkout", "payment", "inventory", "shipping")


def query_spans(n_traces: int = 50) -> list[Span]:
    """The query workload: 2-span traces over 5 services; every 10th trace's root has status 500."""
    processes = {
        name: Process(
            name, [KeyValue("host.name", _S, f"{name}-1"), KeyValue("telemetry.sdk.language", _S, "go")]
        )
        for name in QUERY_SERVICES
    }
    n_svc = len(QUERY_SERVICES)
    spans = []
    for k in range(n_traces):
        tid = int.from_bytes(trace_placeholder(k), "big")
        start = BASE_US + k * 1000
        root_svc = QUERY_SERVICES[k % n_svc]
        child_svc = QUERY_SERVICES[(k + 1) % n_svc]
        root_tags = [
            KeyValue("otel.scope.name", _S, "bench"),
            KeyValue("http.method", _S, "GET" if k % 3 else "POST"),
            KeyValue("http.route", _S, f"/api/v{k % 4}/items"),
            KeyValue("http.status_code", _I, 500 if k % 10 == 0 else 200),
            KeyValue("net.peer.port", _I, 443),
            KeyValue("span.kind", _S, "server"),
        ]
        child_tags = [
            KeyValue("otel.scope.name", _S, "bench"),
            KeyValue("db.system", _S, "postgresql"),
            KeyValue("db.statement", _S, f"SELECT * FROM t{k % 3} WHERE id = $1"),
            KeyValue("cache.hit", _B, k % 2 == 0),
            KeyValue("span.kind", _S, "client"),
        ]
        root_id, child_id = 2 * k + 1, 2 * k + 2
        log = Log(start + 100, [KeyValue("event", _S, "query"), KeyValue("rows", _I, k)])
        spans.append(
            Span(
                tid,
                root_id,
                f"GET /api/v{k % 4}/items",
                [],
                1,
                start,
                900 + k,
                root_tags,
                [],
                processes[root_svc],
            )
        )
        spans.append(
            Span(
                tid,
                child_id,
                f"db.query.{k % 3}",
                [SpanRef(SpanRefType.CHILD_OF, tid, root_id)],
                1,
                start + 50,
                300 + k,
                child_tags,
                [log],
                processes[child_svc],
            )
        )
    return spans


# ---------------------------------------------------------------------------------------------
# the baseline server


def _baseline_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="_common.py baseline")
    parser.add_argument("mode", choices=["baseline"])
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--thrift-http-port", type=int, required=True)
    parser.add_argument("--api-v2-grpc-port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    return asyncio.run(
        _serve_baseline(
            args.http_port, args.grpc_port, args.admin_port, args.thrift_http_port, args.api_v2_grpc_port
        )
    )


async def _serve_baseline(
    http_port: int, grpc_port: int, admin_port: int, thrift_http_port: int, api_v2_grpc_port: int
) -> int:
    # Same classes (uvicorn+httptools+starlette, grpc.aio) and loop as pyjaeger; no work inside.
    # One server per port, as pyjaeger runs them.
    import grpc
    from prometheus_client import CollectorRegistry
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from pyjaeger.cmd.admin import Health, admin_app
    from pyjaeger.collector.otlp_grpc import SERVICE_NAME
    from pyjaeger.hostport import HostPort
    from pyjaeger.servers import GrpcServer, HttpServer

    async def traces(request: Request) -> Response:
        await request.body()
        return Response(b"", media_type=PROTOBUF)

    async def thrift_traces(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    async def export(request: bytes, context: object) -> bytes:
        return b""

    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME, {"Export": grpc.unary_unary_rpc_method_handler(export)}
    )
    api_v2_handler = grpc.method_handlers_generic_handler(
        COLLECTOR_SERVICE, {"PostSpans": grpc.unary_unary_rpc_method_handler(export)}
    )
    health = Health()
    servers = [
        HttpServer("admin", admin_app(health, CollectorRegistry()), HostPort(HOST, admin_port)),
        GrpcServer("grpc", [handler], HostPort(HOST, grpc_port), 4 * MB),
        HttpServer(
            "http",
            Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])]),
            HostPort(HOST, http_port),
        ),
        GrpcServer("api_v2 grpc", [api_v2_handler], HostPort(HOST, api_v2_grpc_port), 4 * MB),
        HttpServer(
            "thrift http",
            Starlette(routes=[Route("/api/traces", thrift_traces, methods=["POST"])]),
            HostPort(HOST, thrift_http_port),
        ),
    ]
    for s in servers:
        await s.start()
    health.ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in reversed(servers):
        await s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_baseline_main(sys.argv[1:]))
