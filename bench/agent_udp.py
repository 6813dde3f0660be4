"""End-to-end agent benchmark: compact `emitBatch` datagrams over UDP at rising rates, and the loss.

Jaeger clients send one thrift `emitBatch` per UDP datagram and never learn whether it arrived,
so the figure that matters is how much is lost at a given rate. A separate sender process sends
datagrams of 10 spans (one trace; each span with 8 tags, 1 log of 2 fields and a parent, the shape
jaeger-client sends) to the compact port at each rate of `--rates` for `--seconds`, paced per
millisecond. The datagram is encoded once a second; every datagram gets a fresh 64-bit trace id by
slicing a 10-byte varint into the template in place of a placeholder, so the sender stays cheap
(a few µs per datagram; its CPU share is printed).

Every step runs on a fresh server: a few datagrams are sent and stored first (the first decode,
the first write), then the step; after it, the script waits until the stored count has not moved
for a second (the drain) and prints, against the datagrams sent:
- stored: spans written to storage, the delta of `jaeger_collector_spans_saved_by_svc_total`
  (Jaeger: `otelcol_exporter_sent_spans_total`), and the loss in % of the spans sent;
- agent drops: datagrams the agent dropped, the delta of
  `jaeger_agent_thrift_udp_server_packets_dropped_total` (its queue, or the collector's, full;
  Jaeger v2 exports no such counter);
- kernel drops: datagrams the kernel discarded because the socket's receive buffer was full, the
  delta of the socket's `drops` column in /proc/net/udp;
- the server's CPU, in % of one core, over the sending window.

Targets, in the same run, step by step in turn: `baseline`, a trivial asyncio+uvloop UDP receiver
that only counts datagrams (with the same 16 MiB receive-buffer request as pyjaeger): the receive
ceiling of this stack on this machine; `pyjaeger all-in-one` (default settings, free loopback
ports); with `--jaeger PATH` a real Jaeger v2 binary (default all-in-one config, 6831).

    /tmp/venv/bin/python bench/agent_udp.py [--rates 10000,20000,...] [--seconds 5] [--quick]
        [--jaeger /path/to/jaeger]

Run as `agent_udp.py receiver --port P` it is the baseline receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    HOST,
    MB,
    PYJAEGER_STORED,
    Server,
    _spawn,
    free_udp_ports,
    http_get,
    machine,
    metric_sum,
    start_jaeger,
    start_pyjaeger,
    udp_socket_stats,
)

from pyjaeger.codecs.jaeger_thrift import encode_agent_message
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

SPANS_PER_DATAGRAM = 10
DEFAULT_RATES = (10_000, 20_000, 40_000, 60_000, 80_000, 100_000, 150_000)
RCVBUF = 16 * MB  # what pyjaeger's agent asks for by default
AGENT_DROPPED = "jaeger_agent_thrift_udp_server_packets_dropped_total"
AGENT_ERRORS = (
    "jaeger_agent_thrift_udp_server_read_errors_total",
    "jaeger_agent_thrift_udp_t_processor_handler_errors_total",
)
JAEGER_REFUSED = "otelcol_receiver_refused_spans_total"
COUNT_QUERY = b"count?"

# ---------------------------------------------------------------------------------------------
# the datagram template

# traceIdLow placeholder. In [2^63, 2^63 + 2^62) the i64 is negative with |n| >= 2^62, so its
# compact zigzag varint always takes 10 bytes: any id from that range fits the same slot.
_LOW_PLACEHOLDER = 0xA55AC33C_5A5A5A5A
_ID_BASE = 1 << 63


def _zigzag_varint(v: int) -> bytes:
    """Thrift compact's i64 encoding of the unsigned 64-bit `v` (reinterpreted as signed)."""
    n = v - (1 << 64) if v >= 1 << 63 else v
    z = ((n << 1) ^ (n >> 63)) & ((1 << 64) - 1)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def datagram_spans(now_us: int) -> list[Span]:
    """One trace of 10 spans as jaeger-client sends it: 64-bit ids, 8 tags, a log, a parent."""
    process = Process(
        "bench-agent",
        [
            KeyValue("jaeger.version", ValueType.STRING, "Python-4.8.0"),
            KeyValue("hostname", ValueType.STRING, "bench-host"),
            KeyValue("ip", ValueType.STRING, "192.0.2.7"),
        ],
    )
    tid = _LOW_PLACEHOLDER
    root = 0x1000
    spans = []
    for i in range(SPANS_PER_DATAGRAM):
        start = now_us + i * 50
        tags = [
            KeyValue("http.method", ValueType.STRING, "GET"),
            KeyValue("http.url", ValueType.STRING, f"https://example.com/api/items/{i}"),
            KeyValue("http.status_code", ValueType.INT64, 500 if i == 7 else 200),
            KeyValue("net.peer.port", ValueType.INT64, 443),
            KeyValue("db.statement", ValueType.STRING, "SELECT * FROM items WHERE id = $1"),
            KeyValue("cache.hit", ValueType.BOOL, i % 2 == 0),
            KeyValue("ratio", ValueType.FLOAT64, i / 7),
            KeyValue("span.kind", ValueType.STRING, "server" if i == 0 else "client"),
        ]
        refs = [SpanRef(SpanRefType.CHILD_OF, tid, root)] if i else []
        log = Log(
            start + 3,
            [KeyValue("event", ValueType.STRING, "cache-lookup"), KeyValue("n", ValueType.INT64, i)],
        )
        spans.append(Span(tid, root + i, f"op-{i % 5}", refs, 1, start, 40 + i, tags, [log], process))
    return spans


class DatagramTemplate:
    """A compact `emitBatch` of `datagram_spans`, split around its traceIdLow slots."""

    def __init__(self, now_us: int) -> None:
        spans = datagram_spans(now_us)
        body = encode_agent_message(spans, "compact")
        placeholder = _zigzag_varint(_LOW_PLACEHOLDER)
        parts = body.split(placeholder)
        expected = sum(1 + len(s.references) for s in spans)
        if len(placeholder) != 10 or len(parts) != expected + 1:
            raise AssertionError(f"template: {len(parts) - 1} trace id slots, {expected} expected")
        self.parts = parts
        self.size = len(body)

    def render(self, low: int) -> bytes:
        return _zigzag_varint(low).join(self.parts)


# ---------------------------------------------------------------------------------------------
# the sender (a spawned process, driven over a pipe)


def _sender_main(conn: Any, prefix: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MB)
    counter = 0
    while True:
        cmd = conn.recv()
        if cmd[0] == "stop":
            return
        _, port, rate, seconds = cmd
        sent, errors, first_error, elapsed, cpu, counter = _send(
            sock, (HOST, port), rate, seconds, prefix, counter
        )
        conn.send((sent, errors, first_error, elapsed, cpu))


def _send(
    sock: socket.socket, addr: tuple[str, int], rate: float, seconds: float, prefix: int, counter: int
) -> tuple[int, int, str, float, float, int]:
    """Send `rate` spans/s for `seconds`, paced per millisecond; (datagrams sent, errors, ...)."""
    dgram_rate = rate / SPANS_PER_DATAGRAM
    total = round(dgram_rate * seconds)
    sendto = sock.sendto
    mono = time.monotonic
    base = _ID_BASE | (prefix << 32)  # prefix < 2^30 keeps every id in the 10-byte varint range
    tpl = DatagramTemplate(time.time_ns() // 1000)
    tpl_second = int(time.time())
    parts = tpl.parts
    sent = errors = 0
    first_error = ""
    cpu0 = time.process_time()
    t0 = mono()
    while sent < total:
        now = mono()
        due = min(total, int((now - t0) * dgram_rate) + 1)
        while sent < due:
            counter = (counter + 1) & 0xFFFFFFFF
            try:
                sendto(_zigzag_varint(base | counter).join(parts), addr)
            except OSError as e:
                errors += 1
                first_error = first_error or str(e)
            sent += 1
        second = int(time.time())
        if second != tpl_second:  # keep the span times current
            tpl_second, parts = second, DatagramTemplate(time.time_ns() // 1000).parts
        left = 0.001 - (mono() - t0) % 0.001
        time.sleep(left)
    elapsed = mono() - t0
    return sent, errors, first_error, elapsed, time.process_time() - cpu0, counter


class Sender:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sender_main, args=(child, random.getrandbits(30)), daemon=True)
        self._proc.start()

    def send(self, port: int, rate: float, seconds: float) -> tuple[int, int, str, float, float]:
        self._conn.send(("send", port, rate, seconds))
        result: tuple[int, int, str, float, float] = self._conn.recv()
        return result

    def close(self) -> None:
        self._conn.send(("stop",))
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


# ---------------------------------------------------------------------------------------------
# the baseline receiver


def _receiver_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agent_udp.py receiver")
    parser.add_argument("mode", choices=["receiver"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rcvbuf", type=int, default=RCVBUF)
    args = parser.parse_args(argv)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    return asyncio.run(_receive(args.port, args.rcvbuf))


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.n = 0
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data == COUNT_QUERY:
            self.transport.sendto(str(self.n).encode(), addr)
        else:
            self.n += 1


async def _receive(port: int, rcvbuf: int) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((HOST, port))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Counter, sock=sock)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready, receive buffer {sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}", flush=True)
    await stop.wait()
    transport.close()
    return 0


def _query_count(port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        for _ in range(10):
            s.sendto(COUNT_QUERY, (HOST, port))
            try:
                return int(s.recv(64))
            except TimeoutError:
                continue
    raise TimeoutError(f"the baseline receiver on {port} does not answer")


def start_receiver(timeout: float = 30.0) -> Server:
    (port,) = free_udp_ports(1)
    argv = [sys.executable, str(Path(__file__).resolve()), "receiver", f"--port={port}"]
    proc, log = _spawn("udp-baseline", argv)
    server = Server("baseline", proc, 0, 0, None, (0, ""), None, None, "", log, udp_compact=port)
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        try:
            _query_count(port)
            return server
        except TimeoutError:
            if time.monotonic() > deadline:
                server.stop()
                raise
        except OSError:
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# one step


@dataclass
class Counts:
    stored: float  # spans (baseline: datagrams received x 10)
    agent_dropped: float | None  # datagrams
    agent_errors: float | None  # datagrams (oversize, undecodable)
    kernel_drops: int | None  # datagrams


def read_counts(target: str, server: Server) -> Counts:
    port = server.udp_compact
    assert port is not None
    stats = udp_socket_stats(port)
    kernel = None if stats is None else stats[0]
    if target == "baseline":
        return Counts(_query_count(port) * SPANS_PER_DATAGRAM, None, None, kernel)
    assert server.metrics is not None
    status, body = http_get(HOST, server.metrics[0], server.metrics[1])
    if status != 200:
        raise RuntimeError(f"{target}: metrics answered {status}")
    text = body.decode()
    assert server.stored_metric is not None
    stored = metric_sum(text, server.stored_metric, server.stored_require)
    if server.stored_metric == PYJAEGER_STORED:
        dropped = metric_sum(text, AGENT_DROPPED)
        errors = sum(metric_sum(text, name) for name in AGENT_ERRORS)
        return Counts(stored, dropped, errors, kernel)
    # Jaeger: no agent drop counter; spans its receiver refused are reported as errors.
    return Counts(stored, None, metric_sum(text, JAEGER_REFUSED), kernel)


def wait_drained(
    target: str, server: Server, quiet: float = 1.0, timeout: float = 120.0
) -> tuple[Counts, float]:
    """Poll until the stored count has not changed for `quiet` seconds; (counts, seconds waited)."""
    t0 = time.monotonic()
    last = read_counts(target, server)
    changed = t0
    while True:
        time.sleep(0.1)
        server.check_alive()
        now = time.monotonic()
        counts = read_counts(target, server)
        if counts.stored != last.stored:
            last, changed = counts, now
        elif now - changed >= quiet or now - t0 > timeout:
            return counts, changed - t0


@dataclass
class Step:
    target: str
    rate: int
    seconds: float  # actual sending time
    sent: int  # datagrams
    send_errors: int
    first_error: str
    sender_cpu: float  # share of a core
    stored: float  # spans
    agent_dropped: float | None
    agent_errors: float | None
    kernel_drops: int | None
    drain: float  # seconds after the sender stopped until the last span was stored
    server_cpu: float  # share of a core over the sending window

    @property
    def sent_spans(self) -> int:
        return self.sent * SPANS_PER_DATAGRAM

    @property
    def loss(self) -> float:
        return 1 - self.stored / self.sent_spans if self.sent else float("nan")


def run_step(target: str, start: Callable[[], Server], sender: Sender, rate: int, seconds: float) -> Step:
    server = start()
    try:
        port = server.udp_compact
        assert port is not None
        # Prime: the first datagrams decoded and stored, at a low rate, before counting.
        sender.send(port, 2_000, 0.2)
        before, _ = wait_drained(target, server, quiet=0.5)
        cpu0 = server.cpu_seconds()
        sent, errors, first_error, elapsed, sender_cpu = sender.send(port, rate, seconds)
        cpu1 = server.cpu_seconds()
        after, drain = wait_drained(target, server)

        def delta(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else b - a

        kernel = delta(before.kernel_drops, after.kernel_drops)
        step = Step(
            target,
            rate,
            elapsed,
            sent,
            errors,
            first_error,
            sender_cpu / elapsed,
            after.stored - before.stored,
            delta(before.agent_dropped, after.agent_dropped),
            delta(before.agent_errors, after.agent_errors),
            None if kernel is None else int(kernel),
            drain,
            (cpu1 - cpu0) / elapsed,
        )
    finally:
        code = server.stop()
    if code:
        print(f"  {target} exited with {code}:\n{server.log_tail()}")
    return step


HEADER = (
    f"{'target':<9} {'rate/s':>8} {'sent/s':>8} {'sent':>9} {'stored':>9} {'loss':>7} "
    f"{'agent drops':>11} {'kernel drops':>12} {'drain s':>7} {'server CPU':>10} {'sender CPU':>10}"
)


def _opt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def row(s: Step) -> str:
    line = (
        f"{s.target:<9} {s.rate:>8,} {s.sent_spans / s.seconds:>8,.0f} {s.sent_spans:>9,} "
        f"{s.stored:>9,.0f} {s.loss:>7.2%} {_opt(s.agent_dropped):>11} {_opt(s.kernel_drops):>12} "
        f"{s.drain:>7.1f} {s.server_cpu:>10.0%} {s.sender_cpu:>10.0%}"
    )
    notes = []
    if s.agent_errors:
        notes.append(f"{s.agent_errors:.0f} datagrams not decoded / spans refused")
    if s.send_errors:
        notes.append(f"{s.send_errors} sendto errors, first: {s.first_error}")
    return line + ("  [" + "; ".join(notes) + "]" if notes else "")


def _read_sysctl(name: str) -> str:
    try:
        return Path("/proc/sys/net/core", name).read_text().strip()
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        default=",".join(str(r) for r in DEFAULT_RATES),
        help="spans per second, comma-separated, in order",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per step")
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
    parser.add_argument("--quick", action="store_true", help="short smoke run: 2 rates, 1 s each")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    if args.quick:
        rates, args.seconds = [rates[0], rates[-1]], min(args.seconds, 1.0)

    targets: list[tuple[str, Callable[[], Server]]] = [
        ("baseline", start_receiver),
        ("pyjaeger", lambda: start_pyjaeger(args.server_arg)),
    ]
    if args.jaeger:
        targets.append(("jaeger", lambda: start_jaeger(args.jaeger, config=args.jaeger_config)))

    tpl = DatagramTemplate(time.time_ns() // 1000)
    print(f"machine: {machine()}")
    print(
        f"load: compact emitBatch datagrams of {SPANS_PER_DATAGRAM} spans ({tpl.size} bytes; 8 tags + 1 log "
        f"per span), paced per ms, {args.seconds:g} s per step, fresh server per step"
    )
    print(
        f"receive buffers: pyjaeger and the baseline ask for {RCVBUF // MB} MiB, Jaeger keeps the OS "
        f"default; net.core.rmem_default {_read_sysctl('rmem_default')}, rmem_max {_read_sysctl('rmem_max')}"
    )
    print("loss = 1 - stored / sent; drops are in datagrams (x10 spans)\n")
    print(HEADER)
    steps: list[Step] = []
    sender = Sender()
    try:
        for rate in rates:
            for name, start in targets:
                s = run_step(name, start, sender, rate, args.seconds)
                steps.append(s)
                print(row(s), flush=True)
    finally:
        sender.close()

    print("\nloss by rate (spans/s)")
    names = [name for name, _ in targets]
    print(f"{'rate/s':>8} " + " ".join(f"{n:>9}" for n in names))
    for rate in rates:
        cells = [next(s for s in steps if s.target == n and s.rate == rate) for n in names]
        print(f"{rate:>8,} " + " ".join(f"{c.loss:>9.2%}" for c in cells))
    print()
    top = rates[-1]
    for n in names:
        mine = [s for s in steps if s.target == n]
        zero = [s.rate for s in mine if s.stored >= s.sent_spans]
        best = max(zero) if zero else None
        last = next(s for s in mine if s.rate == top)
        print(
            f"{n:<9} highest rate with zero loss: {'none' if best is None else f'{best:,} spans/s'}; "
            f"at {top:,} spans/s: {last.stored / last.seconds:,.0f} spans/s stored ({last.loss:.1%} lost)"
        )
    base_top = next(s for s in steps if s.target == "baseline" and s.rate == top)
    for n in names[1:]:
        last = next(s for s in steps if s.target == n and s.rate == top)
        if base_top.stored:
            print(f"{n} / baseline, spans kept at {top:,} spans/s: {last.stored / base_top.stored:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        sys.exit(_receiver_main(sys.argv[1:]))
    main()
