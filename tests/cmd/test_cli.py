"""The console entry point: bad configuration and unusable resources end the process with a clear error."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyjaeger", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_bad_flag_value_exits_2_naming_the_flag() -> None:
    r = run("all-in-one", "--collector.queue-size=lots")
    assert r.returncode == 2
    assert "--collector.queue-size" in r.stderr


def test_bogus_log_format_is_a_usage_error() -> None:
    r = run("all-in-one", "--log-format=bogus")
    assert r.returncode == 2
    assert "--log-format" in r.stderr
    assert "text" in r.stderr and "json" in r.stderr


def test_agent_needs_collectors() -> None:
    r = run("agent")
    assert r.returncode == 2
    assert "--reporter.grpc.host-port" in r.stderr


def test_unreadable_strategies_file_exits_1(tmp_path: Path, loopback_flags: list[str]) -> None:
    r = run("all-in-one", *loopback_flags, f"--sampling.strategies-file={tmp_path / 'missing.json'}")
    assert r.returncode == 1
    assert "missing.json" in r.stderr


@pytest.mark.parametrize("flag", ["query.http-server.host-port", "collector.zipkin.host-port"])
def test_port_in_use_exits_1(loopback_flags: list[str], flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("all-in-one", *loopback_flags, f"--{flag}=127.0.0.1:{port}")
    assert r.returncode == 1
    assert f"127.0.0.1:{port}" in r.stderr
