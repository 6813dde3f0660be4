"""End-to-end fixtures: pyjaeger all-in-one as a subprocess, and real clients in their own venvs.

- ``pyjaeger_server``: a function-scoped running server (``PyjaegerServer``), stopped with SIGTERM at
  teardown, which must then exit 0.
- ``pyjaeger_launcher``: ``launch(name, tmp_dir, extra_args=None, command="all-in-one",
  ports=None)``, a context manager for servers of other scopes, with extra flags, of the
  ``agent`` or ``collector`` sub-command, or restarted on the ports of an earlier one.
- ``otel_python`` / ``jaeger_python``: the interpreters of the OpenTelemetry (set C) and legacy
  Jaeger (set A) client venvs (built on first use).
- ``run_client``: runs a script from tests/clients/ with a client interpreter and returns the
  JSON line it printed; ``run_node_client`` does the same for tests/clients/node/send.js with the
  locked ``npm ci`` install (``venvs.node_client_dir``).
- ``wait_for_trace``: ``wait_for_trace(server, trace_id_hex, n_spans, timeout=10)``.
- ``metrics``: ``metrics(server)`` parses the admin port's Prometheus text into ``Metrics``
  (``.value(name, **labels)`` sums the matching series); ``server.wait_metric(...)`` polls.

``$PYJAEGER_E2E_SERVER`` swaps the server program (see ``server_command``). Every listener
gets a free loopback port. To expose another listener, add one line to
``PORT_FLAGS`` (its ``server.ports`` key, flag, and transport) and list the key under the
sub-commands that have it in ``COMMAND_PORTS``.

A failing test's report gets the log of every pyjaeger process running at the time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import httpx
import pytest

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
METRIC_SETTLE_S = 0.3


class PortFlag(NamedTuple):
    flag: str
    transport: str = "tcp"  # "udp" for the agent's compact/binary Thrift listeners


# key in PyjaegerServer.ports -> the host-port flag that binds it.
PORT_FLAGS: dict[str, PortFlag] = {
    "otlp_grpc": PortFlag("--collector.otlp.grpc.host-port"),
    "otlp_http": PortFlag("--collector.otlp.http.host-port"),
    "query_http": PortFlag("--query.http-server.host-port"),
    "query_grpc": PortFlag("--query.grpc-server.host-port"),
    "admin_http": PortFlag("--admin.http.host-port"),
    "collector_http": PortFlag("--collector.http-server.host-port"),
    "collector_grpc": PortFlag("--collector.grpc-server.host-port"),
    "agent_compact": PortFlag("--processor.jaeger-compact.server-host-port", "udp"),
    "agent_binary": PortFlag("--processor.jaeger-binary.server-host-port", "udp"),
    "agent_http": PortFlag("--http-server.host-port"),
    # Later receivers, one line each.
    "zipkin": PortFlag("--collector.zipkin.host-port"),
}

# The listeners each sub-command has (Jaeger's split: the agent owns UDP and 5778, the collector
# the receivers, the all-in-one everything plus the query API).
COMMAND_PORTS: dict[str, tuple[str, ...]] = {
    "all-in-one": tuple(PORT_FLAGS),
    "collector": ("otlp_grpc", "otlp_http", "collector_http", "collector_grpc", "admin_http"),
    "agent": ("agent_compact", "agent_binary", "agent_http", "admin_http"),
}

# Servers started by this process and not yet stopped; their logs go into failure reports.
_RUNNING: list[PyjaegerServer] = []


def _load_module(name: str, path: Path) -> ModuleType:
    """Import a helper by path: tests have no packages (pytest --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


venvs = _load_module("pyjaeger_tests_client_venvs", CLIENTS_DIR / "venvs.py")


def free_ports(transports: dict[str, str]) -> dict[str, int]:
    """Pick a free loopback port per key; all sockets stay open until every port is chosen."""
    socks: list[socket.socket] = []
    ports: dict[str, int] = {}
    try:
        for key, transport in transports.items():
            kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
            sock = socket.socket(socket.AF_INET, kind)
            socks.append(sock)
            sock.bind((HOST, 0))
            ports[key] = sock.getsockname()[1]
    finally:
        for sock in socks:
            sock.close()
    return ports


class Metrics:
    """One scrape of a Prometheus text page: ``{name: [(labels, value), ...]}``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.series: dict[str, list[tuple[dict[str, str], float]]] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            name, _, label_text = head.partition("{")
            labels = dict(_LABEL.findall(label_text)) if label_text else {}
            self.series.setdefault(name, []).append((labels, float(value)))

    def value(self, name: str, **labels: str) -> float:
        """Sum of every series of ``name`` whose labels include ``labels``; 0 when none."""
        return sum(
            v for have, v in self.series.get(name, []) if all(have.get(k) == w for k, w in labels.items())
        )

    def labelled(self, name: str) -> list[tuple[dict[str, str], float]]:
        return list(self.series.get(name, []))


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class PyjaegerServer:
    """A running ``pyjaeger`` process (all-in-one, agent or collector) and the ways to reach it."""

    name: str
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    log_path: Path
    http: httpx.Client
    command: str = "all-in-one"
    exit_code: int | None = None
    stop_seconds: float | None = None
    stopped_by_test: bool = False
    _log_file: Any = field(default=None, repr=False)

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"{HOST}:{self.ports['otlp_grpc']}"

    @property
    def otlp_http_url(self) -> str:
        return f"http://{HOST}:{self.ports['otlp_http']}"

    @property
    def query_url(self) -> str:
        return f"http://{HOST}:{self.ports['query_http']}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.ports['admin_http']}"

    @property
    def collector_http_url(self) -> str:
        return f"http://{HOST}:{self.ports['collector_http']}"

    @property
    def collector_grpc_endpoint(self) -> str:
        return f"{HOST}:{self.ports['collector_grpc']}"

    @property
    def agent_http_url(self) -> str:
        return f"http://{HOST}:{self.ports['agent_http']}"

    def udp_address(self, key: str) -> tuple[str, int]:
        """``(host, port)`` of a UDP listener: ``agent_compact`` or ``agent_binary``."""
        assert PORT_FLAGS[key].transport == "udp", key
        return HOST, self.ports[key]

    def send_udp(self, key: str, *datagrams: bytes) -> None:
        """Send each datagram, as is, to one of the server's UDP listeners."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for datagram in datagrams:
                sock.sendto(datagram, self.udp_address(key))

    def metrics(self) -> Metrics:
        resp = self.http.get(self.admin_url + "/metrics")
        assert resp.status_code == 200, resp.text
        return Metrics(resp.text)

    def wait_metric(self, name: str, expected: float, timeout: float = 10.0, **labels: str) -> Metrics:
        """Poll until ``name`` (summed over ``labels``) reaches ``expected``, then check it stays.

        Work behind UDP and queues is asynchronous: a counter is final only once it stopped
        moving, so after reaching ``expected`` it is read again after a short settle time and
        must not have gone past it.
        """
        deadline = time.monotonic() + timeout
        while True:
            scrape = self.metrics()
            got = scrape.value(name, **labels)
            if got >= expected:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} is {got}, expected {expected} within {timeout}s")
            time.sleep(0.05)
        time.sleep(METRIC_SETTLE_S)
        scrape = self.metrics()
        got = scrape.value(name, **labels)
        assert got == expected, f"{name}{labels} went to {got}, expected exactly {expected}"
        return scrape

    def wait_metric_above(self, name: str, threshold: float, timeout: float = 30.0, **labels: str) -> float:
        """Poll until ``name`` (summed over ``labels``) is at least ``threshold``; its value."""
        deadline = time.monotonic() + timeout
        while (got := self.metrics().value(name, **labels)) < threshold:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} is {got}, not {threshold} within {timeout}s")
            time.sleep(0.05)
        return got

    def alive(self) -> bool:
        """Still running and answering its health check."""
        if self.proc.poll() is not None:
            return False
        try:
            return self.http.get(self.admin_url + "/", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def __repr__(self) -> str:
        return f"<PyjaegerServer {self.name} pid={self.proc.pid} ports={self.ports}>"

    def query(self, path: str, **params: Any) -> httpx.Response:
        """GET ``path`` on the query port. A list value repeats the parameter."""
        return self.http.get(self.query_url + path, params=params)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Send ``sig`` and wait; returns the exit code (killed with SIGKILL after ``timeout``).

        Called by a test, it takes the exit-code check away from the fixture's teardown.
        """
        self.stopped_by_test = True
        return self._terminate(sig, timeout)

    def _terminate(self, sig: signal.Signals, timeout: float) -> int:
        if self.exit_code is None:
            started = time.monotonic()
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.exit_code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = -int(signal.SIGKILL)
            self.stop_seconds = time.monotonic() - started
        self._close()
        return self.exit_code

    def _close(self) -> None:
        self.http.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _RUNNING:
            _RUNNING.remove(self)


def _wait_ready(server: PyjaegerServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"pyjaeger exited with {server.proc.returncode} while starting:\n{server.log()}"
            )
        try:
            resp = server.http.get(server.admin_url + "/", timeout=1.0)
            if resp.status_code == 200:
                return
            last = f"{resp.status_code} {resp.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"pyjaeger not healthy after {timeout:.0f}s (last: {last}):\n{server.log()}")


def server_command(
    ports: dict[str, int], extra_args: dict[str, str] | None = None, command: str = "all-in-one"
) -> list[str]:
    """The command line of a sub-command; an environment variable can replace its program part.

    ``$PYJAEGER_E2E_SERVER`` for the all-in-one, ``$PYJAEGER_E2E_AGENT`` and
    ``$PYJAEGER_E2E_COLLECTOR`` for the others, e.g.
    ``PYJAEGER_E2E_SERVER="/path/to/wheel-venv/bin/pyjaeger all-in-one"`` tests an installed
    wheel, or a real Jaeger v1 binary (same flag names) checks the tests.
    """
    variable = "PYJAEGER_E2E_SERVER" if command == "all-in-one" else f"PYJAEGER_E2E_{command.upper()}"
    override = os.environ.get(variable)
    cmd = shlex.split(override) if override else [sys.executable, "-m", "pyjaeger", command]
    for key, port in ports.items():
        cmd += [PORT_FLAGS[key].flag, f"{HOST}:{port}"]
    cmd += ["--log-level", "debug"]
    for flag, value in (extra_args or {}).items():
        cmd += [flag, value]
    return cmd


@contextlib.contextmanager
def launch(
    name: str,
    tmp_dir: Path,
    extra_args: dict[str, str] | None = None,
    command: str = "all-in-one",
    ports: dict[str, int] | None = None,
    nofile: tuple[int, int] | None = None,
) -> Iterator[PyjaegerServer]:
    """Start pyjaeger on fresh ports, wait until healthy, yield it, then stop it.

    ``command`` is the sub-command (``all-in-one``, ``agent``, ``collector``); it gets the
    listeners ``COMMAND_PORTS`` lists for it. ``ports`` reuses given ports instead (e.g. those of
    a server stopped earlier, to restart it in place). ``extra_args`` maps flags to values, added
    after the port flags. ``nofile`` starts the process with that (soft, hard) open-file limit.
    On exit, a server the test did not stop itself gets SIGTERM and must exit 0 within
    ``STOP_TIMEOUT_S``.
    """
    if ports is None:
        ports = free_ports({key: PORT_FLAGS[key].transport for key in COMMAND_PORTS[command]})
    tmp_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_dir / f"{name}.log"
    log_file = log_path.open("wb")
    try:
        # cwd outside the repo: `python -m` puts cwd on sys.path; the repo root must not be there.
        proc = subprocess.Popen(
            server_command(ports, extra_args, command),
            cwd=tmp_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=None if nofile is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile),
        )
    except BaseException:
        log_file.close()
        raise
    server = PyjaegerServer(
        name=name,
        proc=proc,
        ports=ports,
        log_path=log_path,
        http=httpx.Client(timeout=5.0, trust_env=False),
        command=command,
        _log_file=log_file,
    )
    _RUNNING.append(server)
    try:
        _wait_ready(server, READY_TIMEOUT_S)
        yield server
    finally:
        stopped_by_test = server.stopped_by_test
        code = server._terminate(signal.SIGTERM, STOP_TIMEOUT_S)
    if not stopped_by_test:
        assert code == 0, f"pyjaeger exited with {code} after SIGTERM:\n{server.log()}"


def _wait_for_trace(
    server: PyjaegerServer, trace_id_hex: str, n_spans: int, timeout: float = 10.0
) -> dict[str, Any]:
    """Poll ``GET /api/traces/{id}`` until the trace has ``n_spans`` spans; return the trace.

    Spans are written asynchronously, so a 404 or a partial trace just means "not yet".
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        resp = server.query(f"/api/traces/{trace_id_hex}")
        if resp.status_code == 200:
            data: list[dict[str, Any]] | None = resp.json()["data"]
            if data and len(data[0]["spans"]) >= n_spans:
                assert len(data[0]["spans"]) == n_spans, f"more spans than expected: {data[0]}"
                return data[0]
            last = f"200 with {len(data[0]['spans']) if data else 0} spans"
        else:
            last = f"{resp.status_code} {resp.text[:300]}"
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {trace_id_hex} did not reach {n_spans} spans in {timeout}s: {last}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def wait_for_trace() -> Callable[..., dict[str, Any]]:
    return _wait_for_trace


@pytest.fixture(scope="session")
def pyjaeger_launcher() -> Callable[..., contextlib.AbstractContextManager[PyjaegerServer]]:
    return launch


@pytest.fixture
def pyjaeger_server(tmp_path: Path) -> Iterator[PyjaegerServer]:
    with launch("pyjaeger", tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def otel_python() -> Path:
    """Interpreter of the OpenTelemetry client venv; the first build takes a few seconds."""
    return Path(venvs.client_python("otel", CLIENTS_DIR / "requirements-otel.txt"))


@pytest.fixture(scope="session")
def jaeger_python() -> Path:
    """Interpreter of the legacy Jaeger client venv (jaeger-client 4.8, OTel Jaeger exporters)."""
    return Path(venvs.client_python("jaeger", CLIENTS_DIR / "requirements-jaeger.txt"))


@pytest.fixture(scope="session")
def node_client() -> Path:
    """Folder of the locked ``npm ci`` of tests/clients/node (Node jaeger-client 3.19.0)."""
    return Path(venvs.node_client_dir(CLIENTS_DIR / "node"))


@pytest.fixture(scope="session")
def metrics() -> Callable[[PyjaegerServer], Metrics]:
    """``metrics(server)``: one scrape of the server's admin ``/metrics``."""
    return PyjaegerServer.metrics


def _run_client(
    python: Path, script: str, *args: str, timeout: float = 60.0, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``tests/clients/<script>`` with ``python``; return the JSON object it printed last."""
    cmd = [str(python), str(CLIENTS_DIR / script), *args]
    proc = subprocess.run(
        cmd,
        env=venvs.client_env() if env is None else env,
        cwd=CLIENTS_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing; stderr:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@pytest.fixture(scope="session")
def client_env() -> dict[str, str]:
    """The environment client interpreters run in (for clients a test starts itself)."""
    env: dict[str, str] = venvs.client_env()
    return env


@pytest.fixture(scope="session")
def run_client() -> Callable[..., dict[str, Any]]:
    return _run_client


@pytest.fixture(scope="session")
def run_node_client(node_client: Path) -> Callable[..., dict[str, Any]]:
    """``run_node_client(*args)`` runs tests/clients/node/send.js; returns the JSON it printed."""
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"

    def run(*args: str, timeout: float = 60.0) -> dict[str, Any]:
        return _run_client(
            Path(node), "node/send.js", *args, timeout=timeout, env=venvs.node_env(node_client)
        )

    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for server in list(_RUNNING):
            report.sections.append((f"pyjaeger log: {server.name} (pid {server.proc.pid})", server.log()))
    return report
