"""Shared pieces for the checks against a running compose stack (scripts/containers.sh).

The check files are named ``stack_*.py`` so the repo's normal ``pytest`` run never collects them:
they need a stack, and containers.sh passes them explicitly, from inside the network namespace
where the stack's ports are published on loopback. This conftest only defines fixtures, so
importing it during the normal run is harmless.

containers.sh exports: ``STACK_PROJECT`` and ``STACK_COMPOSE_FILE`` (for docker-compose
restart/stop/start), ``DOCKER_HOST``, and ``STACK_JAEGER_PYTHON`` / ``STACK_OTEL_PYTHON`` (the
client venvs of tests/clients/venvs.py, built before entering the namespace, which has no internet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[3]
CLIENTS = REPO / "tests" / "clients"
HERE = Path(__file__).resolve().parent
QUERY = "http://127.0.0.1:16686"
T = TypeVar("T")

# Loopback requests must not go through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these checks through scripts/containers.sh")
    return value


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with _opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url: str) -> Any:
    status, body = http_get(url)
    assert status == 200, f"GET {url}: {status} {body[:300]!r}"
    return json.loads(body)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.5) -> T:
    """Poll until `probe` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    err: Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, AssertionError, ValueError) as e:  # not up yet, or a 5xx while starting
            last = None
            err = e
        else:
            err = None
            if last:
                return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r}, error: {err!r})")


class Metrics:
    """One scrape of a Prometheus endpoint; `value` sums the samples matching name and labels."""

    def __init__(self, url: str) -> None:
        status, body = http_get(url)
        assert status == 200, f"GET {url}: {status}"
        self.samples = [
            (s.name, s.labels, s.value)
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(
            v for n, ls, v in self.samples if n == name and all(ls.get(k) == x for k, x in labels.items())
        )


def trace(trace_id: str) -> dict[str, Any] | None:
    """The trace as /api/traces/{id} returns it, or None while it is not (all) there."""
    status, body = http_get(f"{QUERY}/api/traces/{trace_id}")
    if status == 404:
        return None
    assert status == 200, f"/api/traces/{trace_id}: {status} {body[:300]!r}"
    data = json.loads(body)["data"]
    return data[0] if data else None


def complete_trace(trace_id: str, n_spans: int, timeout: float = 60.0) -> dict[str, Any]:
    return wait_for(
        f"trace {trace_id} with {n_spans} spans",
        lambda: t if (t := trace(trace_id)) and len(t["spans"]) == n_spans else None,
        timeout,
    )


def span_services(t: Mapping[str, Any]) -> list[str]:
    return [t["processes"][s["processID"]]["serviceName"] for s in t["spans"]]


def service_span_ids(service: str) -> set[str]:
    """Every span id the query API finds for `service` (distinct, so a retried batch counts once)."""
    data = get_json(f"{QUERY}/api/traces?service={service}&limit=10000&lookback=1h")["data"]
    return {s["spanID"] for t in data for s in t["spans"]}


def unique_service(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.time_ns() % 10**9}"


class Stack:
    """docker-compose for the stack under test, and the clients that send to it."""

    def __init__(self) -> None:
        self.project = _env("STACK_PROJECT")
        self.compose_file = _env("STACK_COMPOSE_FILE")
        _env("DOCKER_HOST")

    def compose(self, *args: str, timeout: float = 120.0) -> str:
        cmd = ["docker-compose", "-p", self.project, "-f", self.compose_file, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def wait_healthy(self, admin_url: str, timeout: float = 90.0) -> None:
        wait_for(f"{admin_url} to answer 200", lambda: http_get(admin_url, timeout=2)[0] == 200, timeout)

    def _client(self, python_env: str, script: Path, args: list[str], timeout: float) -> dict[str, Any]:
        proc = subprocess.run(
            [_env(python_env), str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=client_env(),
        )
        assert proc.returncode == 0, f"{script.name} {args} failed: {proc.stderr}"
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    def send_jaeger_client(self, service: str) -> dict[str, Any]:
        """One 3-span trace from the real jaeger-client, in one UDP datagram to the agent's 6831."""
        return self._client(
            "STACK_JAEGER_PYTHON",
            CLIENTS / "jaeger_client_send.py",
            ["--agent", "127.0.0.1:6831", "--service", service],
            60,
        )

    def send_otel(self, service: str, protocol: str) -> dict[str, Any]:
        """One 3-span trace from the real OpenTelemetry SDK over OTLP (gRPC 4317 or HTTP 4318)."""
        endpoint = "127.0.0.1:4317" if protocol == "grpc" else "http://127.0.0.1:4318"
        return self._client(
            "STACK_OTEL_PYTHON",
            CLIENTS / "otel_send.py",
            ["--protocol", protocol, "--endpoint", endpoint, "--service", service],
            60,
        )

    def start_jaeger_stream(self, service: str, traces: int, interval: float) -> subprocess.Popen[str]:
        """Traces of 2 spans each, one datagram per trace, every `interval` s (jaeger_stream.py)."""
        return subprocess.Popen(
            [
                _env("STACK_JAEGER_PYTHON"),
                str(HERE / "jaeger_stream.py"),
                "--agent",
                "127.0.0.1:6831",
                "--service",
                service,
                "--traces",
                str(traces),
                "--interval",
                str(interval),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=client_env(),
        )


def client_env() -> dict[str, str]:
    # A client must not pick up OTEL_*/JAEGER_* settings or a proxy from the caller's environment.
    drop = ("OTEL_", "JAEGER_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    proxies = {"http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy"}
    return {k: v for k, v in os.environ.items() if not k.startswith(drop) and k.lower() not in proxies}


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack()


DEMO_SERVICES = {"frontend", "customer", "driver", "route"}


def check_demo_traces(since_us: int = 0, timeout: float = 90.0) -> None:
    """The demo's four services are listed, and one trace (started at or after `since_us`, µs since
    the epoch) spans several of them, driver included (driver reports Jaeger thrift over UDP through
    the agent, the others OTLP), with every parent reference resolved inside the trace."""
    wait_for(
        f"services {sorted(DEMO_SERVICES)} in /api/services",
        lambda: DEMO_SERVICES <= set(get_json(f"{QUERY}/api/services")["data"] or []),
        timeout=timeout,
    )
    window = f"&start={since_us}" if since_us else "&lookback=1h"

    def joined_trace() -> dict[str, Any] | None:
        data = get_json(f"{QUERY}/api/traces?service=frontend&limit=50{window}")["data"] or []
        for t in data:
            services = set(span_services(t))
            if (
                "driver" in services
                and len(services) >= 3
                and min(s["startTime"] for s in t["spans"]) >= since_us
            ):
                return dict(t)
        return None

    t = wait_for(
        f"a frontend trace started at or after {since_us} µs with spans from driver and 3+ services",
        joined_trace,
        timeout,
    )
    by_id = {s["spanID"] for s in t["spans"]}
    for s in t["spans"]:
        for ref in s["references"]:
            if ref["refType"] == "CHILD_OF":
                assert ref["traceID"] == t["traceID"]
                assert ref["spanID"] in by_id, f"dangling parent {ref} in {t['traceID']}"


def wait_all_healthy(stack: Stack, timeout: float = 90.0) -> None:
    """Every container of the project reports healthy: the demo's own probe included."""

    def unhealthy() -> list[str] | None:
        ids = stack.compose("ps", "-q").split()
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{.Name}} {{.State.Health.Status}}", *ids],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        bad = [line for line in out if not line.endswith(" healthy")]
        return None if bad or not ids else ids

    wait_for("every container to report healthy", unhealthy, timeout)


@pytest.fixture(scope="session")
def kit() -> ModuleType:
    """This module's helpers: with --import-mode=importlib a check file cannot import a conftest."""
    return sys.modules[__name__]
