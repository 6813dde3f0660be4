"""`--span-storage.type=sqlite` as users run it: `pyjaeger` processes on a database file that outlives
them. Restart, a crash in the middle of ingest, a query process beside the collector, bad paths and
retention; every server is `python -m pyjaeger` on free loopback ports, fed real OTLP protobuf."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SERVICE = "sqlite-proc"
CAPTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "captures"
    / "otel-otlp-http-1.27_ExportTraceServiceRequest.bin"
).read_bytes()  # real client bytes: opentelemetry-exporter-otlp-proto-http, 3 spans
CAPTURE_TRACE = 0xC3541FD0C60650D168FD0612991D6D93
CAPTURE_SERVICE = "demo-otlp-http"
PROTOBUF = {"content-type": "application/x-protobuf"}
OPERATIONS = {"root", "child-a", "child-b"}
# Listeners each sub-command opens; the ones a test talks to get a free port, the others port 0.
LISTENERS = {
    "all-in-one": (
        "collector.otlp.http.host-port",
        "collector.otlp.grpc.host-port",
        "collector.http-server.host-port",
        "collector.grpc-server.host-port",
        "query.http-server.host-port",
        "query.grpc-server.host-port",
        "admin.http.host-port",
        "processor.jaeger-compact.server-host-port",
        "processor.jaeger-binary.server-host-port",
        "http-server.host-port",
    ),
    "collector": (
        "collector.otlp.http.host-port",
        "collector.otlp.grpc.host-port",
        "collector.http-server.host-port",
        "collector.grpc-server.host-port",
        "admin.http.host-port",
    ),
    "query": ("query.http-server.host-port", "query.grpc-server.host-port", "admin.http.host-port"),
}
TALKED_TO = ("collector.otlp.http.host-port", "query.http-server.host-port", "admin.http.host-port")


def export_request(trace_id: int, seq: int, spans: int = 3, start_ns: int | None = None) -> bytes:
    """One OTLP request holding one trace of `spans` spans (a root and its children), each span
    tagged `seq`; it starts at `start_ns` (now by default)."""
    start = time.time_ns() if start_ns is None else start_ns
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(
        common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=SERVICE))
    )
    ss = rs.scope_spans.add()
    for i in range(1, spans + 1):
        span = ss.spans.add()
        span.trace_id = trace_id.to_bytes(16, "big")
        span.span_id = i.to_bytes(8, "big")
        if i > 1:
            span.parent_span_id = (1).to_bytes(8, "big")
        span.name = "root" if i == 1 else ("child-a", "child-b")[i % 2]
        span.kind = trace_pb2.Span.SPAN_KIND_SERVER
        span.start_time_unix_nano = start + i * 1000
        span.end_time_unix_nano = start + i * 1000 + 2_000_000
        span.attributes.append(
            common_pb2.KeyValue(key="seq", value=common_pb2.AnyValue(string_value=str(seq)))
        )
    return req.SerializeToString()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Pyjaeger:
    """A `pyjaeger` child process; its stderr goes to `log`."""

    command: str
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path

    @property
    def otlp(self) -> str:
        return f"http://127.0.0.1:{self.ports['collector.otlp.http.host-port']}/v1/traces"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['query.http-server.host-port']}/api"

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 30) -> None:
        admin = f"http://127.0.0.1:{self.ports['admin.http.host-port']}/"
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"{self.command} exited {self.proc.returncode}:\n{self.stderr}"
            try:
                if (await client.get(admin)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.command} never became ready:\n{self.stderr}"
            await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return await self.wait(timeout)

    async def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.proc.poll()) is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.command} still running after {timeout}s:\n{self.stderr}")
            await asyncio.sleep(0.02)
        return code


def spawn(
    command: str, log: Path, *flags: str, prefix: Sequence[str] = (), env: dict[str, str] | None = None
) -> Pyjaeger:
    """`python -m pyjaeger COMMAND --log-level=info FLAGS`; `prefix` runs it through e.g. setpriv."""
    ports = {name: _free_port() for name in LISTENERS[command] if name in TALKED_TO}
    listen = [f"--{name}=127.0.0.1:{ports.get(name, 0)}" for name in LISTENERS[command]]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "pyjaeger", command, "--log-level=info", *listen, *flags],
            env=env or {**os.environ},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return Pyjaeger(command, proc, ports, log)


@asynccontextmanager
async def running(
    command: str, log: Path, *flags: str, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[Pyjaeger, httpx.AsyncClient]]:
    """A ready `pyjaeger COMMAND`, killed at the end if the test left it running."""
    server = spawn(command, log, *flags, env=env)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await server.wait_ready(client)
            yield server, client
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def sqlite_flags(db: Path, *more: str) -> tuple[str, ...]:
    return ("--span-storage.type=sqlite", f"--sqlite.path={db}", *more)


async def get_trace(client: httpx.AsyncClient, api: str, trace_id: int) -> list[dict[str, Any]] | None:
    """The trace's spans through `/api/traces/{id}`, None on 404."""
    r = await client.get(f"{api}/traces/{trace_id:032x}")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert len(data) == 1 and data[0]["traceID"] == f"{trace_id:032x}"
    spans: list[dict[str, Any]] = data[0]["spans"]
    return spans


async def wait_for(check: Callable[[], Any], timeout: float, what: str) -> None:
    """Polls the coroutine function `check` until it returns true."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def new_trace_ids(n: int) -> list[int]:
    base = uuid.uuid4().int >> 64 << 32  # a random high half, room below for n consecutive ids
    return [base + i for i in range(n)]


# ---------------------------------------------------------------------------------------------
# restart


async def test_acknowledged_traces_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "data" / "traces.db"  # the folder does not exist yet
    # The capture keeps the day it was recorded: keep it longer than the default 168h.
    flags = sqlite_flags(db, "--sqlite.retention=87600h")
    ids = new_trace_ids(40)
    async with running("all-in-one", tmp_path / "first.log", *flags) as (server, client):
        r = await client.post(server.otlp, content=CAPTURE, headers=PROTOBUF)
        assert r.status_code == 200, r.text
        acked = []
        for seq, trace_id in enumerate(ids):
            r = await client.post(server.otlp, content=export_request(trace_id, seq), headers=PROTOBUF)
            assert r.status_code == 200, r.text
            acked.append(trace_id)
        await wait_for(lambda: get_trace(client, server.api, CAPTURE_TRACE), 10, "the captured trace")
        before = (await client.get(f"{server.api}/traces/{CAPTURE_TRACE:032x}")).json()
        # SIGTERM drains the queue into the file before the process exits.
        assert await server.stop() == 0, server.stderr
    assert db.is_file()

    async with running("all-in-one", tmp_path / "second.log", *flags) as (server, client):
        # The client's trace reads back as it did before, tags, events and references included.
        after = (await client.get(f"{server.api}/traces/{CAPTURE_TRACE:032x}")).json()
        assert after == before
        assert len(after["data"][0]["spans"]) == 3
        for trace_id in acked:
            spans = await get_trace(client, server.api, trace_id)
            assert spans is not None, f"acknowledged trace {trace_id:032x} lost over the restart"
            assert sorted(s["operationName"] for s in spans) == ["child-a", "child-b", "root"]
            assert {s["spanID"] for s in spans} == {f"{i:016x}" for i in (1, 2, 3)}
        services = (await client.get(f"{server.api}/services")).json()["data"]
        assert sorted(services) == sorted([SERVICE, CAPTURE_SERVICE])
        ops = (await client.get(f"{server.api}/services/{SERVICE}/operations")).json()["data"]
        assert set(ops) == OPERATIONS
        params: dict[str, Any] = {"service": SERVICE, "operation": "child-a", "lookback": "1h", "limit": 100}
        found = (await client.get(f"{server.api}/traces", params=params)).json()["data"]
        assert {int(t["traceID"], 16) for t in found} == set(acked)
        params = {"service": SERVICE, "tags": json.dumps({"seq": "7"}), "lookback": "1h", "limit": 20}
        found = (await client.get(f"{server.api}/traces", params=params)).json()["data"]
        assert [int(t["traceID"], 16) for t in found] == [ids[7]]
        assert len(found[0]["spans"]) == 3  # a search answers whole traces
        # Writes still work on the reopened file.
        extra = new_trace_ids(1)[0]
        r = await client.post(server.otlp, content=export_request(extra, 999), headers=PROTOBUF)
        assert r.status_code == 200
        await wait_for(lambda: get_trace(client, server.api, extra), 10, "a write after the restart")
        assert await server.stop() == 0, server.stderr


# ---------------------------------------------------------------------------------------------
# crash


@dataclass
class Sender:
    """Batches numbered 0, 1, 2, ... (one trace each), posted by `connections` concurrent loops;
    remembers when each was sent and when it was acknowledged."""

    url: str
    spans: int
    connections: int = 4
    ids: list[int] = field(default_factory=lambda: new_trace_ids(100_000))
    sent_at: dict[int, float] = field(default_factory=dict)  # seq -> monotonic time of sending
    acked_at: dict[int, float] = field(default_factory=dict)  # seq -> when answered 200
    refused: set[int] = field(default_factory=set)  # answered 503 (queue full)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(self._loop(client) for _ in range(self.connections)))

    async def _loop(self, client: httpx.AsyncClient) -> None:
        while True:
            seq = len(self.sent_at)
            body = export_request(self.ids[seq], seq, self.spans)
            self.sent_at[seq] = time.monotonic()
            try:
                r = await client.post(self.url, content=body, headers=PROTOBUF)
            except httpx.TransportError:
                return  # the server is gone
            if r.status_code == 200:
                self.acked_at[seq] = time.monotonic()
            else:
                assert r.status_code == 503, r.text
                self.refused.add(seq)
                await asyncio.sleep(0.005)


async def test_sigkill_during_ingest_leaves_a_consistent_prefix(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    spans, queue_spans, workers = 100, 2000, 50  # the collector's default queue and workers
    async with running("all-in-one", tmp_path / "killed.log", *sqlite_flags(db)) as (server, client):
        sender = Sender(server.otlp, spans)
        sending = asyncio.create_task(sender.run())
        deadline = time.monotonic() + 20
        while len(sender.acked_at) < 200 and time.monotonic() < deadline and not sending.done():
            await asyncio.sleep(0.05)
        server.proc.send_signal(signal.SIGKILL)
        assert await server.wait() == -signal.SIGKILL
        await asyncio.wait_for(sending, 10)
    assert len(sender.acked_at) >= 50, f"only {len(sender.acked_at)} batches acknowledged before the kill"

    # The file, opened by sqlite itself once the process is gone (this replays the WAL).
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    async with running("all-in-one", tmp_path / "after.log", *sqlite_flags(db)) as (server, client):
        present: set[int] = set()
        for seq in sender.sent_at:
            found = await get_trace(client, server.api, sender.ids[seq])
            if found is not None:
                # One request is one transaction: a batch is there whole or not at all.
                assert len(found) == spans, f"batch {seq} is partly there: {len(found)} of {spans} spans"
                present.add(seq)
        assert await server.stop() == 0, server.stderr

    assert present, "nothing committed before the kill"
    acked = set(sender.acked_at)
    # Nothing refused. (A request whose answer the kill cut off may have been written.)
    assert not present & sender.refused
    assert present <= acked | (set(sender.sent_at) - acked - sender.refused)
    # No holes: a batch acknowledged before a present batch was even sent was queued before it,
    # so it was committed before it or with it.
    holes = {
        a: b
        for b in present
        for a, acked_time in sender.acked_at.items()
        if acked_time < sender.sent_at[b] and a not in present
    }
    assert holes == {}, f"lost though acknowledged before a present batch was sent (lost: present): {holes}"
    # What is missing is the tail that sat in the queue or in a worker's hands at the kill.
    missing = acked - present
    assert len(missing) <= queue_spans // spans + workers + sender.connections, sorted(missing)


# ---------------------------------------------------------------------------------------------
# collector + query


async def test_query_process_reads_what_the_collector_process_writes(tmp_path: Path) -> None:
    db = tmp_path / "shared" / "traces.db"
    env = {**os.environ, "SPAN_STORAGE_TYPE": "sqlite", "SQLITE_PATH": str(db)}
    # The query process comes first: it must start on a file that does not exist yet.
    async with running("query", tmp_path / "query.log", env=env) as (query, client):
        assert (await client.get(f"{query.api}/services")).json()["data"] == []
        assert await get_trace(client, query.api, new_trace_ids(1)[0]) is None
        assert not db.exists(), "the read-only process created the database"

        async with running("collector", tmp_path / "collector.log", env=env) as (collector, _):
            first, second = new_trace_ids(2)
            r = await client.post(collector.otlp, content=export_request(first, 1), headers=PROTOBUF)
            assert r.status_code == 200
            await wait_for(
                lambda: get_trace(client, query.api, first), 15, "the query process to see a trace"
            )
            # ... and later writes too, now that it has the file open.
            r = await client.post(collector.otlp, content=export_request(second, 2), headers=PROTOBUF)
            assert r.status_code == 200
            await wait_for(lambda: get_trace(client, query.api, second), 15, "a second trace")
            assert (await client.get(f"{query.api}/services")).json()["data"] == [SERVICE]
            ops = (await client.get(f"{query.api}/services/{SERVICE}/operations")).json()["data"]
            assert set(ops) == OPERATIONS
            params = {"service": SERVICE, "tags": json.dumps({"seq": "2"}), "lookback": "1h"}
            found = (await client.get(f"{query.api}/traces", params=params)).json()["data"]
            assert [int(t["traceID"], 16) for t in found] == [second]
            assert await collector.stop() == 0, collector.stderr
        # The writer is gone; the reader still answers from the file.
        assert await get_trace(client, query.api, first) is not None
        assert await query.stop() == 0, query.stderr


# ---------------------------------------------------------------------------------------------
# bad input


async def refuses_to_start(tmp_path: Path, db: str, *, prefix: Sequence[str] = ()) -> str:
    """Starts an all-in-one on `db`, expects it to exit 1 within 15 s; returns its stderr."""
    server = spawn(
        "all-in-one", tmp_path / f"bad-{uuid.uuid4().hex[:6]}.log", *sqlite_flags(Path(db)), prefix=prefix
    )
    try:
        code = await server.wait(15)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
    assert code == 1, server.stderr
    assert "Traceback" not in server.stderr, server.stderr
    return server.stderr


@pytest.mark.parametrize(
    "where",
    ["under-a-regular-file", "under-proc"],
)
async def test_unwritable_path_is_a_clear_error(tmp_path: Path, where: str) -> None:
    if where == "under-a-regular-file":
        (tmp_path / "plain-file").write_text("not a folder")
        db = str(tmp_path / "plain-file" / "traces.db")
    else:
        db = f"/proc/pyjaeger-{uuid.uuid4().hex[:8]}/traces.db"  # not even root can create it
    began = time.monotonic()
    stderr = await refuses_to_start(tmp_path, db)
    assert db in stderr, stderr
    assert time.monotonic() - began < 15


# Root minus the capabilities that bypass file permissions: a run as another user could not read
# a checkout in a 0700 folder (mktemp -d), this one can.
WITHOUT_ROOT_FILE_POWERS = ("setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
async def test_read_only_folder_as_an_unprivileged_user(tmp_path: Path) -> None:
    """Root ignores permissions; run it without the capabilities that let it (so the code it
    runs stays readable wherever the checkout is) against a folder it may not write."""
    base = Path(tempfile.mkdtemp(prefix="pyjaeger-ro-"))  # tmp_path is 0700, nobody can't enter it
    try:
        base.chmod(0o755)
        folder = base / "read-only"
        folder.mkdir(mode=0o555)
        folder.chmod(0o555)
        db = str(folder / "traces.db")
        stderr = await refuses_to_start(tmp_path, db, prefix=WITHOUT_ROOT_FILE_POWERS)
        assert db in stderr, stderr
        assert not (folder / "traces.db").exists()
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
async def test_a_database_the_user_may_not_write_is_a_clear_error(tmp_path: Path) -> None:
    """A store made by root, handed to `nobody`, then started by a root without its file powers
    in a folder it may write (so SQLite can make its -wal and -shm files) on a file it may only
    read: SQLite then opens the file read-only without a word, and only a write would tell."""
    base = Path(tempfile.mkdtemp(prefix="pyjaeger-ro-"))
    try:
        base.chmod(0o777)
        db = base / "traces.db"
        async with running("all-in-one", tmp_path / "owner.log", *sqlite_flags(db)) as (server, _):
            assert await server.stop() == 0, server.stderr
        os.chown(db, 65534, 65534)
        db.chmod(0o644)
        before = db.read_bytes()
        stderr = await refuses_to_start(tmp_path, str(db), prefix=WITHOUT_ROOT_FILE_POWERS)
        assert str(db) in stderr, stderr
        assert db.read_bytes() == before
    finally:
        shutil.rmtree(base)


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    junk = os.urandom(64 * 1024)
    db.write_bytes(junk)
    stderr = await refuses_to_start(tmp_path, str(db))
    assert str(db) in stderr, stderr
    assert db.read_bytes() == junk, "the file was changed"


@pytest.mark.parametrize("retention", ["0", "0s", "-1s", "-24h"])
def test_retention_must_be_positive(tmp_path: Path, retention: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyjaeger",
            "all-in-one",
            *sqlite_flags(tmp_path / "traces.db", f"--sqlite.retention={retention}"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert "--sqlite.retention" in proc.stderr
    assert not (tmp_path / "traces.db").exists()


# ---------------------------------------------------------------------------------------------
# retention


async def test_retention_deletes_old_traces_and_keeps_new_ones(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    old_ids, new_ids = new_trace_ids(5), new_trace_ids(5)
    two_hours_ago = time.time_ns() - 2 * 3600 * 10**9
    flags = sqlite_flags(db, "--sqlite.retention=1h")
    async with running("all-in-one", tmp_path / "retention.log", *flags) as (server, client):
        for seq, trace_id in enumerate(old_ids):
            body = export_request(trace_id, seq, start_ns=two_hours_ago)
            assert (await client.post(server.otlp, content=body, headers=PROTOBUF)).status_code == 200
        for seq, trace_id in enumerate(new_ids):
            body = export_request(trace_id, 100 + seq)
            assert (await client.post(server.otlp, content=body, headers=PROTOBUF)).status_code == 200
        # Stored at first: the store's retention pass runs every 10 s (storage/sqlite/writer.py),
        # the first one at start-up, before these writes.
        for trace_id in old_ids + new_ids:
            await wait_for(partial(get_trace, client, server.api, trace_id), 5, f"trace {trace_id:032x}")

        async def old_gone() -> bool:
            return all([await get_trace(client, server.api, t) is None for t in old_ids])

        await wait_for(old_gone, RETENTION_WAIT, "the retention job to delete traces older than 1h")
        for trace_id in new_ids:
            spans = await get_trace(client, server.api, trace_id)
            assert spans is not None and len(spans) == 3
        assert await server.stop() == 0, server.stderr


RETENTION_WAIT = 20.0  # seconds; twice the interval of the store's retention pass
