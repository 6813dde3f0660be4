"""`--query.static-files` / `--query.ui-config` through the real command line (and environment) of
`pyjaeger query` and `pyjaeger all-in-one`: the UI is served, bad values stop the start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

INDEX = """<!doctype html>
<html><head><base href="/" data-inject-target="BASE_URL" /><script>
      // JAEGER_CONFIG_JS

      function getJaegerUiConfig() {
        const DEFAULT_CONFIG = null;
        const JAEGER_CONFIG = DEFAULT_CONFIG;
        return JAEGER_CONFIG;
      }
      const JAEGER_BACKEND_CAPABILITIES = DEFAULT_BACKEND_CAPABILITIES;
      const JAEGER_VERSION = DEFAULT_VERSION;
</script><script type="module" crossorigin src="./static/app-1a2b.js"></script></head>
<body><div id="jaeger-ui-root"></div></body></html>
"""
QUERY_LISTENERS = (
    "--query.http-server.host-port=127.0.0.1:0",
    "--query.grpc-server.host-port=127.0.0.1:0",
    "--admin.http.host-port=127.0.0.1:0",
)


@pytest.fixture
def ui_build(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    (root / "static").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "static" / "app-1a2b.js").write_text("export {};\n")
    return root


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyjaeger", *args], capture_output=True, text=True, timeout=60, check=False
    )


def start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start a process logging JSON; return it with the query HTTP server's address."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyjaeger", *args, "--log-format=json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        doc = orjson.loads(line)
        if "listeners" in doc:
            return proc, doc["listeners"]["query HTTP server"]
    stop(proc)
    pytest.fail(f"no start-up line; stderr: {''.join(seen)}")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode


@pytest.mark.parametrize("command", ["query", "all-in-one"])
def test_flags_serve_the_ui(command: str, ui_build: Path, tmp_path: Path, loopback_flags: list[str]) -> None:
    config = tmp_path / "ui.json"
    config.write_text('{"dependencies": {"menuEnabled": false}}')
    listeners = list(QUERY_LISTENERS) if command == "query" else loopback_flags
    args = [command, *listeners, f"--query.static-files={ui_build}", f"--query.ui-config={config}"]
    proc, address = start([*args, "--query.base-path=/jaeger"])
    try:
        with httpx.Client(base_url=f"http://{address}", timeout=10) as c:
            r = c.get("/jaeger/search")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert 'JAEGER_CONFIG = {"dependencies":{"menuEnabled":false}};' in r.text
            assert '<base href="/jaeger/"' in r.text
            assert '"aiAssistant":false' in r.text and '"gitVersion":"pyjaeger-' in r.text
            assert c.get("/jaeger/static/app-1a2b.js").text == "export {};\n"
            assert c.get("/jaeger/api/services").json()["data"] == []
            assert c.get("/jaeger/api/nope").status_code == 404
    finally:
        assert stop(proc) == 0


def test_environment_names(ui_build: Path) -> None:
    proc, address = start(["query", *QUERY_LISTENERS], env={"QUERY_STATIC_FILES": str(ui_build)})
    try:
        r = httpx.get(f"http://{address}/trace/abc", timeout=10)
        assert r.status_code == 200 and "JAEGER_VERSION = {" in r.text
    finally:
        assert stop(proc) == 0


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--query.static-files={tmp}/nowhere"], "--query.static-files: "),
        (["--query.static-files={tmp}"], "index.html"),  # a folder, but no UI build in it
        (["--query.ui-config={tmp}/ui.json"], "--query.ui-config needs --query.static-files"),
        (["--query.static-files={build}", "--query.ui-config={tmp}/ui.toml"], "--query.ui-config: "),
    ],
)
def test_unusable_values_are_usage_errors(
    tmp_path: Path, ui_build: Path, flags: list[str], needle: str
) -> None:
    (tmp_path / "ui.json").write_text("{}")
    (tmp_path / "ui.toml").write_text("")
    r = run("query", *QUERY_LISTENERS, *(f.format(tmp=tmp_path, build=ui_build) for f in flags))
    assert r.returncode == 2
    assert needle in r.stderr


def test_unparsable_ui_config_stops_the_start(tmp_path: Path, ui_build: Path) -> None:
    config = tmp_path / "ui.json"
    config.write_text('{"menu": [}')
    r = run("query", *QUERY_LISTENERS, f"--query.static-files={ui_build}", f"--query.ui-config={config}")
    assert r.returncode == 1
    assert "--query.ui-config: cannot parse UI config file" in r.stderr and str(config) in r.stderr
