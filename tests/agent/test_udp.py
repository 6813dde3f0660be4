"""The agent's UDP servers over loopback: both protocols on both ports, drops counted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from pyjaeger.agent.config import UDPServerConfig
from pyjaeger.agent.udp import SinkFull, UDPServer
from pyjaeger.cmd.app import App
from pyjaeger.codecs.agent_thrift import decode_agent_message
from pyjaeger.hostport import HostPort
from pyjaeger.metrics import UDPServerMetrics

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
COMPACT = (CAPTURES / "py-jaeger-client-4.8.0_udp6831_compact.bin").read_bytes()
BINARY = (CAPTURES / "node-jaeger-client-3.19.0_udp6832_binary.bin").read_bytes()


def sample(app: App, name: str, **labels: str) -> float:
    return app.registry.get_sample_value(name, labels) or 0.0


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))


async def test_both_protocols_on_both_ports(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    assert app.storage is not None
    compact_port = app.server("agent UDP server (compact)").port  # type: ignore[attr-defined]
    binary_port = app.server("agent UDP server (binary)").port  # type: ignore[attr-defined]
    send(compact_port, BINARY)  # Node's client sends binary to 6831
    send(binary_port, COMPACT)
    for payload in (COMPACT, BINARY):
        spans = decode_agent_message(payload)

        async def stored(tid: int = spans[0].trace_id, n: int = len(spans)) -> bool:
            t = await app.storage.reader.get_trace(tid)  # type: ignore[union-attr]
            return t is not None and len(t.spans) >= n

        await wait_until(stored)
    assert (
        sample(
            app, "jaeger_agent_thrift_udp_server_packets_processed_total", model="jaeger", protocol="compact"
        )
        == 1
    )
    assert (
        sample(
            app, "jaeger_agent_thrift_udp_server_packets_processed_total", model="jaeger", protocol="binary"
        )
        == 1
    )


async def test_bad_datagrams_are_counted_and_good_ones_still_stored(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    assert app.storage is not None
    port = app.server("agent UDP server (compact)").port  # type: ignore[attr-defined]
    send(port, b"", b"\x82garbage", COMPACT[:40], b"hello world", COMPACT)
    spans = decode_agent_message(COMPACT)

    async def stored() -> bool:
        t = await app.storage.reader.get_trace(spans[0].trace_id)  # type: ignore[union-attr]
        return t is not None

    await wait_until(stored)
    errors = sum(
        sample(app, "jaeger_agent_thrift_udp_t_processor_handler_errors_total", model="jaeger", protocol=p)
        for p in ("compact", "binary")
    )
    assert errors == 4


def test_oversize_and_full_queue_are_counted() -> None:
    registry = CollectorRegistry()
    got: list[Any] = []
    cfg = UDPServerConfig(HostPort("127.0.0.1", 0), queue_size=2, max_packet_size=100)
    server = UDPServer("test", cfg, "compact", lambda s, _: got.extend(s), UDPServerMetrics(registry))
    server._received(b"\x82" + b"x" * 100)  # 101 bytes: over the limit
    for _ in range(3):
        server._received(COMPACT[:50])
    value = registry.get_sample_value
    assert (
        value("jaeger_agent_thrift_udp_server_read_errors_total", {"model": "jaeger", "protocol": "compact"})
        == 1
    )
    assert (
        value(
            "jaeger_agent_thrift_udp_server_packets_dropped_total", {"model": "jaeger", "protocol": "compact"}
        )
        == 1
    )


def test_sink_full_is_a_counted_drop() -> None:
    registry = CollectorRegistry()

    def full(spans: Any, fmt: str) -> None:
        raise SinkFull("no room")

    server = UDPServer(
        "test", UDPServerConfig(HostPort("127.0.0.1", 0)), "compact", full, UDPServerMetrics(registry)
    )
    server._handle(COMPACT)
    labels = {"model": "jaeger", "protocol": "compact"}
    assert registry.get_sample_value("jaeger_agent_thrift_udp_server_packets_dropped_total", labels) == 1
    assert registry.get_sample_value("jaeger_agent_thrift_udp_server_packets_processed_total", labels) == 1


def test_any_exception_is_a_counted_drop_and_the_port_goes_on(monkeypatch: Any) -> None:
    """Neither a sink nor a codec that raises what it should not stops the worker."""
    from pyjaeger.agent import udp

    registry = CollectorRegistry()
    got: list[Any] = []
    calls = [0]

    def flaky(spans: Any, fmt: str) -> None:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("a bug downstream")
        got.extend(spans)

    server = UDPServer(
        "test", UDPServerConfig(HostPort("127.0.0.1", 0)), "compact", flaky, UDPServerMetrics(registry)
    )
    server._handle(COMPACT)
    server._handle(COMPACT)
    labels = {"model": "jaeger", "protocol": "compact"}
    assert registry.get_sample_value("jaeger_agent_thrift_udp_server_packets_dropped_total", labels) == 1
    assert got == decode_agent_message(COMPACT)

    def broken(data: bytes) -> Any:
        raise IndexError("a codec bug")

    monkeypatch.setattr(udp, "decode_agent_datagram", broken)
    server._handle(COMPACT)
    assert registry.get_sample_value("jaeger_agent_thrift_udp_t_processor_handler_errors_total", labels) == 1


def test_kernel_drops_are_read_from_the_socket() -> None:
    import os

    from pyjaeger.agent.udp import socket_drops

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # fills after a few datagrams
        receiver.bind(("127.0.0.1", 0))
        inode = os.fstat(receiver.fileno()).st_ino
        assert socket_drops(inode) == 0
        send(receiver.getsockname()[1], *[b"x" * 1000] * 50)
        assert socket_drops(inode) > 0


async def test_kernel_drops_gauge_is_exported(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    value = sample(app, "jaeger_agent_thrift_udp_server_kernel_drops", model="jaeger", protocol="compact")
    assert value == 0.0
    assert (
        app.registry.get_sample_value(
            "jaeger_agent_thrift_udp_server_kernel_drops", {"model": "jaeger", "protocol": "binary"}
        )
        == 0.0
    )
