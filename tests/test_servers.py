"""Every server has the same lifecycle: stop before start and twice is safe; a taken port fails."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from starlette.applications import Starlette

from pyjaeger.hostport import HostPort
from pyjaeger.servers import GrpcServer, HttpServer, Server

LOOPBACK = HostPort("127.0.0.1", 0)

FACTORIES: dict[str, Callable[[HostPort], Server]] = {
    "http": lambda addr: HttpServer("http", Starlette(), addr),
    "grpc": lambda addr: GrpcServer("grpc", [], addr, 1024),
}


@pytest.mark.parametrize("kind", FACTORIES)
async def test_lifecycle(kind: str) -> None:
    server = FACTORIES[kind](LOOPBACK)
    await server.stop()
    await server.start()
    await server.start()
    port = server.port  # type: ignore[attr-defined]
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    await server.stop()
    await server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("kind", FACTORIES)
async def test_taken_port_fails_at_start(kind: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = FACTORIES[kind](HostPort("127.0.0.1", taken.getsockname()[1]))
        with pytest.raises(OSError, match=r"127\.0\.0\.1"):
            await server.start()
        await server.stop()
