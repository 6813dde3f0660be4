"""The image's health probe picks the admin port of whatever sub-command PID 1 runs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyjaeger.cmd import healthcheck

PREFIX = ["/opt/pyjaeger/bin/python", "/opt/pyjaeger/bin/pyjaeger"]


@pytest.mark.parametrize(
    ("argv", "env", "url"),
    [
        ([*PREFIX, "all-in-one"], {}, "http://127.0.0.1:14269/"),
        ([*PREFIX, "collector"], {}, "http://127.0.0.1:14269/"),
        ([*PREFIX, "query"], {}, "http://127.0.0.1:16687/"),
        ([*PREFIX, "agent", "--reporter.grpc.host-port", "collector:14250"], {}, "http://127.0.0.1:14271/"),
        ([*PREFIX, "demo", "--rate", "2"], {"ADMIN_HTTP_HOST_PORT": ":9999"}, "http://127.0.0.1:8080/health"),
        ([*PREFIX, "query"], {"ADMIN_HTTP_HOST_PORT": ":17000"}, "http://127.0.0.1:17000/"),
        ([*PREFIX, "agent"], {"ADMIN_HTTP_HOST_PORT": "0.0.0.0:17001"}, "http://127.0.0.1:17001/"),
        ([*PREFIX, "collector"], {"ADMIN_HTTP_HOST_PORT": "10.1.2.3:17002"}, "http://10.1.2.3:17002/"),
        # the flag wins over the environment, as in pyjaeger's own flag resolution
        (
            [*PREFIX, "query", "--admin.http.host-port", ":17003"],
            {"ADMIN_HTTP_HOST_PORT": ":1"},
            "http://127.0.0.1:17003/",
        ),
        ([*PREFIX, "agent", "--admin.http.host-port=[::]:17004"], {}, "http://127.0.0.1:17004/"),
        # no sub-command (the image's default CMD is all-in-one)
        (PREFIX, {}, "http://127.0.0.1:14269/"),
        ([], {}, "http://127.0.0.1:14269/"),
    ],
)
def test_probe_url(argv: list[str], env: dict[str, str], url: str) -> None:
    assert healthcheck.probe_url(argv, env) == url


def test_read_cmdline(tmp_path: Path) -> None:
    path = tmp_path / "cmdline"
    path.write_bytes(b"/opt/pyjaeger/bin/python\0/opt/pyjaeger/bin/pyjaeger\0query\0")
    assert healthcheck.read_cmdline(str(path)) == [*PREFIX, "query"]
    assert healthcheck.read_cmdline(str(tmp_path / "missing")) == []


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def admin_server() -> Iterator[tuple[http.server.HTTPServer, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_main_exit_codes(
    admin_server: tuple[http.server.HTTPServer, type[_Handler]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, handler = admin_server
    monkeypatch.setenv("ADMIN_HTTP_HOST_PORT", f"127.0.0.1:{server.server_address[1]}")
    assert healthcheck.main(["pyjaeger", "collector"]) == 0
    handler.status = 503
    assert healthcheck.main(["pyjaeger", "collector"]) == 1
    server.shutdown()
    server.server_close()
    assert healthcheck.main(["pyjaeger", "collector"]) == 1
