"""HTTP (uvicorn) and gRPC (grpc.aio) servers with one lifecycle: `start()`, `stop()`.

Listen sockets are bound in `start()` so a taken port fails the process at once. `stop()` is safe
before `start()` and twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Iterator
from typing import Any

import grpc
import uvicorn

from pyjaeger.hostport import HostPort
from pyjaeger.http_connections import HttpLimits, Listener, guarded_protocol

__all__ = ["HttpServer", "GrpcServer", "Server", "bind_tcp"]

log = logging.getLogger(__name__)


class Server:
    name: str

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


def bind_tcp(addr: HostPort, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """A TCP socket bound to `addr`. `reuse_port`: several processes listen on one port and the
    kernel spreads the connections; a socket bound so without `listen` holds the port for them."""
    family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((addr.host, addr.port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {addr}: {e.strerror}") from None
    if listen:
        sock.listen(1024)
    sock.setblocking(False)
    return sock


class _Uvicorn(uvicorn.Server):
    # The process installs its own signal handlers; uvicorn must not take them (the hook's name
    # changed across uvicorn versions, so both are overridden).
    def install_signal_handlers(self) -> None:
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn's loop, but woken by `request_exit` instead of noticing it at the next 0.1 s
        # tick: a process stopping several servers would otherwise wait a tick for each.
        self._exit_requested = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def request_exit(self) -> None:
        self.should_exit = True
        exit_requested: asyncio.Event | None = getattr(self, "_exit_requested", None)
        if exit_requested is not None:
            exit_requested.set()


class HttpServer(Server):
    def __init__(
        self, name: str, app: Any, addr: HostPort, limits: HttpLimits = HttpLimits(), reuse_port: bool = False
    ) -> None:
        self.name = name
        self.addr = addr
        self._reuse_port = reuse_port
        self._config = uvicorn.Config(
            app,
            access_log=False,
            log_config=None,
            lifespan="off",
            http=guarded_protocol(Listener(name, limits)),
            timeout_keep_alive=math.ceil(limits.keep_alive),
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    async def start(self) -> None:
        if self._server is not None:
            return
        self._sock = bind_tcp(self.addr, self._reuse_port)
        server = self._server = _Uvicorn(self._config)
        task = self._task = asyncio.create_task(server.serve(sockets=[self._sock]))
        while not server.started:
            if task.done():
                self._server = self._task = None
                task.result()  # raises what stopped it
                raise OSError(f"{self.name} did not start on {self.addr}")
            await asyncio.sleep(0.005)
        log.info("%s listening on %s", self.name, self.addr)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.request_exit()
        if self._task is not None:
            await self._task
            self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class GrpcServer(Server):
    def __init__(
        self,
        name: str,
        handlers: list[Any],
        addr: HostPort,
        max_message_size: int,
        max_connection_age: float = 0.0,
        max_connection_age_grace: float = 0.0,
        reuse_port: bool = False,
    ) -> None:
        self.name = name
        self.addr = addr
        self._handlers = handlers
        self._options: list[tuple[str, int]] = [
            ("grpc.max_receive_message_length", max_message_size),
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            # Bandwidth-delay probing pings the client on every burst of data it sends: under a
            # steady stream of export requests that nearly doubles the syscalls per request
            # (strace: 40 -> 22). A fixed 4 MiB window stands in for what it would grow to.
            ("grpc.http2.bdp_probe", 0),
            ("grpc.http2.lookahead_bytes", 4 * 1024 * 1024),
        ]
        if max_connection_age > 0:
            self._options.append(("grpc.max_connection_age_ms", int(max_connection_age * 1000)))
        if max_connection_age_grace > 0:
            self._options.append(("grpc.max_connection_age_grace_ms", int(max_connection_age_grace * 1000)))
        self._server: Any = None
        self.port = 0

    async def start(self) -> None:
        if self._server is not None:
            return
        server = grpc.aio.server(options=self._options, compression=None)
        server.add_generic_rpc_handlers(tuple(self._handlers))
        try:
            self.port = server.add_insecure_port(str(self.addr))
        except RuntimeError as e:
            raise OSError(f"cannot listen on {self.addr}: {e}") from None
        if self.port == 0:
            raise OSError(f"cannot listen on {self.addr}")
        await server.start()
        self._server = server
        log.info("%s listening on %s", self.name, self.addr)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        await server.stop(grace=5)
