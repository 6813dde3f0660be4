"""Ingest worker processes (`--collector.ingest-processes`), end to end with real clients.

Several OpenTelemetry SDK exporters (each its own connection, so the kernel spreads them over the
workers sharing each port) and jaeger-client over UDP (handed to the workers by the process that
owns the store) send to one all-in-one; what they were told was stored must be stored, the
collector's counters must be those of one collector, and the contracts must survive SIGTERM under
load and a worker killed under load.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
WORKERS = 3


def worker_pids(server: Any) -> list[int]:
    """The server's ingest worker processes: forks of its fork server (a child of the server,
    beside multiprocessing's resource tracker), so the server's grandchildren."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    children = {pid for pid, ppid in parents.items() if ppid == server.proc.pid}
    return sorted(pid for pid, ppid in parents.items() if ppid in children)


def start_load(python: Path, server: Any, env: dict[str, str], *args: str) -> list[subprocess.Popen[str]]:
    """`otel_load.py` over OTLP gRPC and OTLP HTTP at once, in the background."""
    return [
        subprocess.Popen(
            [
                str(python),
                str(CLIENTS_DIR / "otel_load.py"),
                "--protocol",
                protocol,
                "--endpoint",
                endpoint,
                *args,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for protocol, endpoint in (("grpc", server.otlp_grpc_endpoint), ("http", server.otlp_http_url))
    ]


def finish_load(clients: list[subprocess.Popen[str]]) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """The clients' reports, and every span any of them had acknowledged, by trace."""
    results = [json.loads(c.communicate(timeout=60)[0].strip().splitlines()[-1]) for c in clients]
    acked: dict[str, set[str]] = {}
    for result in results:
        for trace, spans in acked_spans(result).items():
            acked.setdefault(trace, set()).update(spans)
    return results, acked


def acked_spans(result: dict[str, Any]) -> dict[str, set[str]]:
    by_trace: dict[str, set[str]] = {}
    for trace, span in result["acked"]:
        by_trace.setdefault(trace, set()).add(span)
    return by_trace


def assert_all_readable(server: Any, acked: dict[str, set[str]], timeout: float = 20.0) -> None:
    """Every acknowledged span can be read back through the query API."""
    deadline = time.monotonic() + timeout
    missing = dict(acked)
    while missing:
        for trace in list(missing):
            r = server.query(f"/api/traces/{trace}")
            if r.status_code == 200:
                have = {s["spanID"] for s in r.json()["data"][0]["spans"]}
                if missing[trace] <= have:
                    del missing[trace]
        if not missing:
            return
        assert time.monotonic() < deadline, (
            f"{len(missing)} of {len(acked)} acknowledged traces not stored whole"
        )
        time.sleep(0.2)


def test_acknowledged_spans_are_stored_and_counted_once(
    pyjaeger_launcher: Callable[..., Any],
    tmp_path: Path,
    otel_python: Path,
    jaeger_python: Path,
    run_client: Callable[..., dict[str, Any]],
) -> None:
    flags = {"--collector.ingest-processes": str(WORKERS)}
    with pyjaeger_launcher("pyjaeger", tmp_path, flags) as server:
        assert len(worker_pids(server)) == WORKERS
        grpc = run_client(
            otel_python,
            "otel_load.py",
            "--protocol=grpc",
            f"--endpoint={server.otlp_grpc_endpoint}",
            "--exporters=6",
            "--traces=40",
            "--service=grpc-load",
        )
        http = run_client(
            otel_python,
            "otel_load.py",
            "--protocol=http",
            f"--endpoint={server.otlp_http_url}",
            "--exporters=6",
            "--traces=40",
            "--service=http-load",
        )
        host, port = server.udp_address("agent_compact")
        udp = run_client(
            jaeger_python, "jaeger_client_send.py", f"--agent={host}:{port}", "--service=udp-load"
        )
        for result in (grpc, http):
            assert result["exports_failed"] == 0, result
            assert len(result["acked"]) == 6 * 40 * 5
        assert_all_readable(server, acked_spans(grpc) | acked_spans(http))
        # jaeger-client's 64-bit trace id, as the query API writes it.
        assert_all_readable(server, {udp["trace_id"]: {s["span_id"] for s in udp["spans"].values()}})

        # One set of counters for the whole collector, the workers' HTTP requests included.
        sent = 2 * 6 * 40 * 5
        server.wait_metric("jaeger_collector_spans_received_total", sent, format="otlp")
        server.wait_metric("jaeger_collector_spans_saved_by_svc_total", sent + 3, result="ok")
        server.wait_metric(
            "http_server_request_duration_seconds_count",
            http["exports_ok"],
            http_route="/v1/traces",
            http_response_status_code="200",
        )
        scrape = server.metrics()
        assert scrape.value("jaeger_collector_spans_dropped_total") == 0
        assert scrape.value("jaeger_agent_thrift_udp_server_packets_processed_total", protocol="compact") == 1
    assert server.exit_code == 0


def test_sigterm_under_load_keeps_every_acknowledged_span(
    pyjaeger_launcher: Callable[..., Any], tmp_path: Path, otel_python: Path, client_env: dict[str, str]
) -> None:
    """The store is a file: after SIGTERM in the middle of the load, a new server on it must
    hold every span any client was told was stored."""
    db = tmp_path / "traces.db"
    flags = {
        "--collector.ingest-processes": str(WORKERS),
        "--span-storage.type": "sqlite",
        "--sqlite.path": str(db),
    }
    with pyjaeger_launcher("pyjaeger", tmp_path / "first", flags) as server:
        clients = start_load(otel_python, server, client_env, "--exporters=4", "--seconds=6", "--timeout=2")
        server.wait_metric_above("jaeger_collector_spans_saved_by_svc_total", 2000)
        assert server.stop(signal.SIGTERM, timeout=30) == 0, server.log()
        results, acked = finish_load(clients)
    log = server.log()
    assert "did not stop" not in log and "exited with code" not in log, log
    assert all(r["acked"] for r in results), results
    assert sum(r["exports_failed"] for r in results) > 0, "the load did not outlast the server"

    reopened = {"--span-storage.type": "sqlite", "--sqlite.path": str(db)}
    with pyjaeger_launcher("reopened", tmp_path / "second", reopened) as again:
        assert_all_readable(again, acked)


def test_a_killed_worker_is_replaced_and_its_loss_counted(
    pyjaeger_launcher: Callable[..., Any], tmp_path: Path, otel_python: Path, client_env: dict[str, str]
) -> None:
    flags = {"--collector.ingest-processes": "2"}
    with pyjaeger_launcher("pyjaeger", tmp_path, flags) as server:
        before = worker_pids(server)
        assert len(before) == 2
        clients = start_load(otel_python, server, client_env, "--exporters=4", "--seconds=8", "--timeout=5")
        server.wait_metric_above("jaeger_collector_spans_saved_by_svc_total", 1000)
        os.kill(before[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "started again" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        after = worker_pids(server)
        assert len(after) == 2 and before[0] not in after and before[1] in after
        _, acked = finish_load(clients)
        assert_all_readable(server, acked)

        # What the killed worker held is counted as dropped, as the log said.
        m = re.search(
            r"ingest worker \d+ \(pid (\d+)\) exited with code -9; (\d+) decoded spans", server.log()
        )
        assert m is not None and int(m.group(1)) == before[0], server.log()
        assert server.metrics().value("jaeger_collector_spans_dropped_total") == int(m.group(2))
    assert server.exit_code == 0
