"""Log format and the start-up line: JSON records parse, and a real process says where it listens."""

from __future__ import annotations

import http.client
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from pyjaeger import __version__
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.logs import JsonFormatter, TextFormatter
from pyjaeger.storage.config import StorageConfig
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.sqlite.config import SqliteConfig

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _record(level: int, msg: str, *args: Any, exc: bool = False, **extra: Any) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad thing")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("pyjaeger.test", level, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_json_record_has_the_fields() -> None:
    doc = orjson.loads(JsonFormatter().format(_record(logging.WARNING, "queue %s full", "jaeger", port=4317)))
    assert TS.match(doc["ts"])
    assert doc["level"] == "warn"
    assert doc["logger"] == "pyjaeger.test"
    assert doc["msg"] == "queue jaeger full"
    assert doc["port"] == 4317
    assert "error" not in doc and "stacktrace" not in doc


@pytest.mark.parametrize(
    ("level", "name"),
    [(logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.ERROR, "error"), (logging.CRITICAL, "fatal")],
)
def test_json_level_names(level: int, name: str) -> None:
    assert orjson.loads(JsonFormatter().format(_record(level, "x")))["level"] == name


def test_json_record_with_exception_is_one_line() -> None:
    line = JsonFormatter().format(_record(logging.ERROR, "write failed", exc=True, listeners={"a": "b:1"}))
    assert "\n" not in line
    doc = orjson.loads(line)
    assert doc["error"] == "bad thing"
    assert "ValueError: bad thing" in doc["stacktrace"]
    assert "Traceback" in doc["stacktrace"]
    assert doc["listeners"] == {"a": "b:1"}


def test_text_record_appends_extra_fields() -> None:
    line = TextFormatter().format(_record(logging.INFO, "started", listeners={"admin server": "h:1"}, n=2))
    assert line.endswith("INFO pyjaeger.test: started listeners=[admin server=h:1] n=2")


async def test_storage_description_hides_credentials(tmp_path: Path) -> None:
    es = ElasticsearchConfig(server_urls=("https://user:secret@es1:9200", "http://es2:9200"))
    app = App("query", Config(storage=StorageConfig(span_storage_type="elasticsearch", elasticsearch=es)))
    assert app.storage is not None
    try:
        assert app.storage_description() == "elasticsearch https://es1:9200,http://es2:9200"
    finally:
        await app.storage.close()
    db = tmp_path / "spans.db"
    sqlite = SqliteConfig(path=str(db))
    app = App("query", Config(storage=StorageConfig(span_storage_type="sqlite", sqlite=sqlite)))
    assert app.storage is not None
    try:
        assert app.storage_description() == f"sqlite {db}"
    finally:
        await app.storage.close()


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a process; return it with its stderr lines up to the one announcing the start."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyjaeger", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if " started" in line:
            return proc, seen
    proc.kill()
    proc.wait()
    pytest.fail(f"no start-up line; stderr: {''.join(seen)}")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, rest = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, rest


def test_json_start_up_line_names_bound_ports(loopback_flags: list[str]) -> None:
    proc, lines = _start("all-in-one", *loopback_flags, "--log-format=json")
    try:
        docs = [orjson.loads(line) for line in lines]  # every line is one JSON object
        doc = docs[-1]
        assert doc["msg"] == f"pyjaeger all-in-one {__version__} started"
        assert doc["command"] == "all-in-one"
        assert doc["version"] == __version__
        assert doc["storage"] == "memory"
        listeners = doc["listeners"]
        assert len(listeners) == len(loopback_flags)
        for name, address in listeners.items():
            host, _, port = address.rpartition(":")
            assert host == "127.0.0.1", name
            assert int(port) > 0, name
        host, _, port = listeners["admin server"].rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", "/")
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    finally:
        code, rest = _stop(proc)
    assert code == 0
    for line in rest.splitlines():
        orjson.loads(line)  # every line is one JSON object


def test_text_start_up_line(loopback_flags: list[str]) -> None:
    proc, lines = _start("all-in-one", *loopback_flags, "--span-storage.type=memory")
    first = lines[-1]
    try:
        assert f"pyjaeger all-in-one {__version__} started" in first
        assert re.search(r"admin server=127\.0\.0\.1:[1-9]\d*", first)
        assert re.search(r"query HTTP server=127\.0\.0\.1:[1-9]\d*", first)
        assert "storage=memory" in first
    finally:
        code, _ = _stop(proc)
    assert code == 0
