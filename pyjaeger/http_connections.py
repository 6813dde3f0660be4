"""HTTP listeners that one client cannot take over: request-head and read timeouts, an idle
timeout, and a bound on open connections that closes the longest-idle connection for a new one.

uvicorn waits for a new connection's first request without limit and counts idle connections
against `limit_concurrency`, so a client that opens connections and sends nothing keeps every
port busy until the process runs out of files. Here every listener takes Jaeger's
`--<listener>.read-header-timeout` (2 s), `.read-timeout` and `.idle-timeout` (0: none, as in
Go's `http.Server`), and `.max-connections` (0: the process's share of its file limit). At the
bound, a new connection closes the connection idle the longest (one with no request in
progress); when none is idle the new one is closed at once. Either is logged, at most every 10 s.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pyjaeger.errors import ConfigError

__all__ = ["HttpLimits", "Listener", "guarded_protocol", "raise_file_limit", "connection_budget"]

log = logging.getLogger(__name__)

_NO_TIMEOUT = 10.0**9  # s: what uvicorn's keep-alive timer gets when there is to be none
_LOG_INTERVAL = 10.0


@dataclass(slots=True, frozen=True)
class HttpLimits:
    """The limits of one HTTP listener (seconds; 0 turns a timeout off)."""

    read_header_timeout: float = 2.0  # from connect, or a later request's first byte, to its head's end
    read_timeout: float = 0.0  # from a request's first byte to the end of its body
    idle_timeout: float = 0.0  # a kept-alive connection's wait for its next request; 0: read_timeout
    max_connections: int = 0  # open at once; 0: the process's file budget (`connection_budget`)

    def validate(self, prefix: str) -> None:
        for name in ("read_header_timeout", "read_timeout", "idle_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{prefix}.{name.replace('_', '-')} must be >= 0")
        if self.max_connections < 0:
            raise ConfigError(f"--{prefix}.max-connections must be >= 0")

    @property
    def keep_alive(self) -> float:
        return self.idle_timeout or self.read_timeout or _NO_TIMEOUT


def raise_file_limit() -> int:
    """Raise the soft limit of open files to the hard one, as Go programs do at start (a Go
    Jaeger keeps serving where the usual 1,024 would stop accepting); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_budget() -> int:
    """HTTP connections the process may hold at once, over all its listeners: its file limit
    less a reserve for everything else (gRPC, UDP, storage files and connections, logs)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, soft - max(128, soft // 8))


class _Registry:
    """Every guarded connection of the process, the idle ones oldest first."""

    def __init__(self) -> None:
        self.open = 0
        self.idle: OrderedDict[_Guarded, None] = OrderedDict()
        self.budget = 0
        self.logged = -_LOG_INTERVAL
        self.unlogged = 0

    def note(self, what: str, listener: Listener) -> None:
        self.unlogged += 1
        now = time.monotonic()
        if now - self.logged >= _LOG_INTERVAL:
            log.warning(
                "%s: %s (%d such since the last message; %d connections open, budget %d)",
                listener.name,
                what,
                self.unlogged,
                self.open,
                self.budget,
            )
            self.logged = now
            self.unlogged = 0


_registry = _Registry()


class Listener:
    """One listener's limits and its open-connection count."""

    def __init__(self, name: str, limits: HttpLimits) -> None:
        self.name = name
        self.limits = limits
        self.open = 0

    def make_room(self) -> bool:
        """Close the longest-idle connection when this listener or the process is at its bound;
        False when that is so and no connection is idle."""
        reg = _registry
        if not reg.budget:
            reg.budget = connection_budget()
        own = self.limits.max_connections and self.open >= self.limits.max_connections
        if not own and reg.open < reg.budget:
            return True
        for conn in reg.idle:
            if not own or conn.listener is self:
                reg.note("at the connection bound, closed the longest-idle connection", self)
                conn.close()
                return True
        reg.note("at the connection bound with none idle, refused a new connection", self)
        return False


class _Guarded(HttpToolsProtocol):
    listener: Listener  # set on the subclass `guarded_protocol` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._read_timer: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.listener.make_room():
            transport.close()
            return
        self._counted = True
        self.listener.open += 1
        _registry.open += 1
        self._set_idle(True)
        self._head_timer = self._arm(self.listener.limits.read_header_timeout, "request head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._set_idle(False)
        if self._counted:
            self._counted = False
            self.listener.open -= 1
            _registry.open -= 1
        super().connection_lost(exc)

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._set_idle(False)
        limits = self.listener.limits
        if self._head_timer is None:
            self._head_timer = self._arm(limits.read_header_timeout, "request head")
        if self._read_timer is None:
            self._read_timer = self._arm(limits.read_timeout, "request")

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._set_idle(True)

    def _set_idle(self, idle: bool) -> None:
        if idle and self._counted:
            _registry.idle[self] = None
        else:
            _registry.idle.pop(self, None)

    def _arm(self, seconds: float, what: str) -> asyncio.TimerHandle | None:
        if seconds <= 0:
            return None
        return self.loop.call_later(seconds, self._expire, what)

    def _expire(self, what: str) -> None:
        log.debug("%s: %s not read within its timeout, connection closed", self.listener.name, what)
        self.close()

    def _cancel(self) -> None:
        for timer in (self._head_timer, self._read_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._read_timer = None


def guarded_protocol(listener: Listener) -> type[asyncio.Protocol]:
    """The uvicorn protocol class of one listener."""
    return type(f"Guarded{id(listener):x}", (_Guarded,), {"listener": listener})
