"""StrategyProvider: start-up loading, look-ups, periodic reload that keeps the last good config."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pyjaeger.sampling.model import SamplingStrategy, StrategyType
from pyjaeger.sampling.provider import StrategyProvider
from pyjaeger.sampling.strategies_file import StrategiesError

PROB = StrategyType.PROBABILISTIC
RATE = StrategyType.RATE_LIMITING

STRATEGIES = """{
  "default_strategy": {"type": "probabilistic", "param": 0.5},
  "service_strategies": [
    {"service": "foo", "type": "probabilistic", "param": 0.8},
    {"service": "bar", "type": "ratelimiting", "param": 5}
  ]
}"""


def prob(rate: float) -> SamplingStrategy:
    return SamplingStrategy(PROB, sampling_rate=rate)


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def strategies_file(tmp_path: Path) -> Path:
    path = tmp_path / "strategies.json"
    path.write_text(STRATEGIES)
    return path


async def test_no_source_uses_default_probability() -> None:
    provider = StrategyProvider()
    await provider.start()
    assert provider.get("any") == prob(0.001)
    await provider.stop()

    custom = StrategyProvider(default_probability=0.2)
    await custom.start()
    assert custom.get("any") == prob(0.2)
    await custom.stop()


async def test_get_before_start_answers_the_default(strategies_file: Path) -> None:
    provider = StrategyProvider(str(strategies_file))
    assert provider.get("foo") == prob(0.001)


async def test_loads_file_and_looks_up(strategies_file: Path) -> None:
    provider = StrategyProvider(str(strategies_file))
    await provider.start()
    try:
        assert provider.get("foo") == prob(0.8)
        assert provider.get("bar") == SamplingStrategy(RATE, max_traces_per_second=5)
        assert provider.get("default") == prob(0.5)
    finally:
        await provider.stop()


async def test_null_document_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("null\n")
    provider = StrategyProvider(str(path), default_probability=0.3)
    await provider.start()
    assert provider.get("foo") == prob(0.3)
    await provider.stop()


async def test_reload_applies_changes_and_keeps_last_good(
    strategies_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyjaeger.sampling")
    provider = StrategyProvider(str(strategies_file), reload_interval=0.05)
    await provider.start()
    try:
        assert provider.get("foo") == prob(0.8)

        strategies_file.write_text(STRATEGIES.replace("0.8", "0.9"))
        await wait_for(lambda: provider.get("foo") == prob(0.9))
        assert "Updated sampling strategies" in caplog.text

        strategies_file.write_text('{"default_strategy": {"type": "probabilistic", "param": ')
        await wait_for(lambda: "failed to update sampling strategies" in caplog.text)
        assert provider.get("foo") == prob(0.9)
        assert provider.get("other") == prob(0.5)
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and "invalid JSON" in errors[0].getMessage()

        strategies_file.unlink()
        await wait_for(lambda: "failed to re-load sampling strategies" in caplog.text)
        assert provider.get("foo") == prob(0.9)

        # Back to a good document: it applies again.
        strategies_file.write_text(STRATEGIES)
        await wait_for(lambda: provider.get("foo") == prob(0.8))
    finally:
        await provider.stop()


async def test_unchanged_file_is_not_parsed_again(
    strategies_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyjaeger.sampling")
    provider = StrategyProvider(str(strategies_file), reload_interval=3600)
    await provider.start()
    try:
        assert await provider.reload() is False
        assert "Updated" not in caplog.text
        strategies_file.write_text(STRATEGIES.replace("0.8", "0.7"))
        assert await provider.reload() is True
        assert provider.get("foo") == prob(0.7)
    finally:
        await provider.stop()


async def test_no_reload_without_interval(strategies_file: Path) -> None:
    provider = StrategyProvider(str(strategies_file))
    await provider.start()
    strategies_file.write_text(STRATEGIES.replace("0.8", "0.9"))
    await asyncio.sleep(0.1)
    assert provider.get("foo") == prob(0.8)
    await provider.stop()


async def test_missing_file_fails_start(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    provider = StrategyProvider(str(missing))
    with pytest.raises(FileNotFoundError) as info:
        await provider.start()
    assert "failed to read sampling strategies file" in str(info.value)
    assert str(missing) in str(info.value)
    await provider.stop()


async def test_directory_fails_start(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="failed to read sampling strategies file"):
        await StrategyProvider(str(tmp_path)).start()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("bad value", "invalid JSON at line 1 column 1: Expecting value"),
        ('"nonsense"', "the strategies document: expected an object, got a string"),
        ('{"service_strategies": [null]}', "service_strategies[0]: expected an object, got null"),
    ],
)
async def test_unparsable_file_fails_start(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(document)
    with pytest.raises(StrategiesError) as info:
        await StrategyProvider(str(path), reload_interval=0.05).start()
    assert str(info.value) == f"sampling strategies from {path}: {message}"


async def test_stop_is_safe_before_start_and_twice(strategies_file: Path) -> None:
    provider = StrategyProvider(str(strategies_file), reload_interval=0.05)
    await provider.stop()
    await provider.start()
    await provider.start()  # a second start does not add a second reload task
    await provider.stop()
    await provider.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_probability": 1.5}, "--sampling.default-sampling-probability"),
        ({"default_probability": -0.1}, "--sampling.default-sampling-probability"),
        ({"reload_interval": -1.0}, "--sampling.strategies-reload-interval"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StrategyProvider(**kwargs)  # type: ignore[arg-type]


# --- URL source, against a real HTTP server on loopback ---


class _Server:
    def __init__(self) -> None:
        self.body = STRATEGIES.encode()
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/strategies.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


async def test_url_source_and_reload(server: _Server) -> None:
    provider = StrategyProvider(server.url, reload_interval=0.05)
    await provider.start()
    try:
        assert provider.get("foo") == prob(0.8)
        server.body = STRATEGIES.replace("0.8", "0.9").encode()
        await wait_for(lambda: provider.get("foo") == prob(0.9))
        # 503 stands for "no strategies": the defaults apply, as in Jaeger.
        server.status = 503
        await wait_for(lambda: provider.get("foo") == prob(0.001))
    finally:
        await provider.stop()


async def test_url_unavailable_at_start_uses_defaults(server: _Server) -> None:
    server.status = 503
    provider = StrategyProvider(server.url, reload_interval=0.05)
    await provider.start()
    try:
        assert provider.get("foo") == prob(0.001)
        # Unlike Jaeger, the source is still polled, so it applies once it is back.
        server.status = 200
        await wait_for(lambda: provider.get("foo") == prob(0.8))
    finally:
        await provider.stop()


async def test_url_bad_status_fails_start(server: _Server) -> None:
    server.status = 404
    server.body = b"not here"
    with pytest.raises(
        OSError, match=r"receiving 404 Not Found while downloading strategies from .*: not here"
    ):
        await StrategyProvider(server.url).start()


async def test_url_unreachable_fails_start() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError, match="failed to download sampling strategies from"):
        await StrategyProvider(f"http://127.0.0.1:{port}/s.json").start()


async def test_url_bad_status_on_reload_keeps_strategies(
    server: _Server, caplog: pytest.LogCaptureFixture
) -> None:
    provider = StrategyProvider(server.url, reload_interval=0.05)
    await provider.start()
    try:
        server.status = 500
        await wait_for(lambda: "failed to re-load sampling strategies" in caplog.text)
        assert provider.get("foo") == prob(0.8)
    finally:
        await provider.stop()
