"""Start the services, send the frontend traffic, and on --count or a signal flush and stop."""

from __future__ import annotations

import logging
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import quote

from pyjaeger.cmd.demo.options import DemoOptions
from pyjaeger.cmd.demo.services import TRAFFIC_CUSTOMERS, Customer, Driver, Frontend, Route, ServiceURLs
from pyjaeger.cmd.demo.telemetry import ExportCounts, ServiceTelemetry, build_telemetry
from pyjaeger.cmd.demo.traced_http import ServiceServer, client_host, no_proxy_opener
from pyjaeger.cmd.logs import setup_logging

__all__ = ["run", "Traffic"]

log = logging.getLogger("pyjaeger.cmd.demo")

MAX_IN_FLIGHT = 32  # beyond this the generator waits: a slow back end slows it instead of piling up
REQUEST_TIMEOUT_S = 15.0
FLUSH_TIMEOUT_MS = 10_000
CATCH_UP_LIMIT_S = 1.0


@dataclass
class Traffic:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1


def run(options: DemoOptions) -> int:
    setup_logging("info")
    counts = ExportCounts()
    telemetry = build_telemetry(options, counts)
    ready = threading.Event()
    servers: dict[str, ServiceServer] = {}
    frontend: Frontend | None = None
    stop = threading.Event()
    try:
        with _stop_on_signals(stop):
            try:
                frontend = _start_services(options, telemetry, servers, ready.is_set)
            except OSError as e:
                log.error("cannot start the demo services: %s", e)
                return 1
            ready.set()
            host = client_host(options.listen_host)
            log.info(_start_line(options, host, servers))
            traffic = _generate(f"http://{host}:{servers['frontend'].port}", options, stop)
            ready.clear()
    finally:
        for server in reversed(servers.values()):
            server.stop()
        if frontend is not None:
            frontend.close()
        _flush(telemetry)
    log.info(
        "pyjaeger demo stopped: %d requests (%d ok, %d failed); spans exported: %s%s",
        traffic.sent,
        traffic.ok,
        traffic.failed,
        counts.summary(),
        "".join(
            f" in {t.agent.datagrams} datagram{'' if t.agent.datagrams == 1 else 's'}"
            + (f" ({t.agent.dropped} spans too large, dropped)" if t.agent.dropped else "")
            for t in telemetry.values()
            if t.agent is not None
        ),
    )
    return 0


def _start_services(
    options: DemoOptions,
    telemetry: dict[str, ServiceTelemetry],
    servers: dict[str, ServiceServer],
    ready: Callable[[], bool],
) -> Frontend:
    """Back ends first: the frontend's /health says 200 only once it can reach them all."""
    host, ports = options.listen_host, options.ports

    def serve(name: str, server: ServiceServer) -> ServiceServer:
        servers[name] = server
        server.start(name)
        return server

    route = serve(
        "route",
        ServiceServer(
            host, ports.route, telemetry["route"].tracer, Route(telemetry["route"].tracer).routes()
        ),
    )
    driver = serve(
        "driver",
        ServiceServer(
            host, ports.driver, telemetry["driver"].tracer, Driver(telemetry["driver"].tracer).routes()
        ),
    )
    customer = serve(
        "customer",
        ServiceServer(
            host,
            ports.customer,
            telemetry["customer"].tracer,
            Customer(telemetry["customer"].tracer).routes(),
        ),
    )
    to = client_host(host)
    urls = ServiceURLs(
        f"http://{to}:{customer.port}", f"http://{to}:{driver.port}", f"http://{to}:{route.port}"
    )
    frontend = Frontend(telemetry["frontend"].tracer, urls)
    try:
        serve("frontend", ServiceServer(host, ports.frontend, frontend.tracer, frontend.routes(), ready))
    except BaseException:
        frontend.close()
        raise
    return frontend


def _start_line(options: DemoOptions, host: str, servers: dict[str, ServiceServer]) -> str:
    otlp = [t for t in ("frontend", "customer", "driver", "route") if not (t == "driver" and options.agent)]
    sends = f"{', '.join(otlp)} → OTLP/HTTP {options.otlp_traces_url}"
    if options.agent is not None:
        agent_host, agent_port = options.agent
        sends += f"; driver → Jaeger agent {agent_host}:{agent_port} (thrift compact over UDP)"
    until = f"{options.count} requests" if options.count else "until SIGTERM/SIGINT"
    ports = ", ".join(f"{name} :{s.port}" for name, s in servers.items() if name != "frontend")
    return (
        f"pyjaeger demo: frontend http://{host}:{servers['frontend'].port} ({ports});"
        f" {sends}; {options.rate:g} requests/s, {until}"
    )


def _generate(frontend_url: str, options: DemoOptions, stop: threading.Event) -> Traffic:
    """GET /dispatch at --rate until --count or `stop`, then wait for the answers still due."""
    traffic = Traffic()
    opener = no_proxy_opener()
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def one(customer_id: str) -> None:
        url = f"{frontend_url}/dispatch?customer={quote(customer_id)}"
        try:
            with opener.open(url, timeout=REQUEST_TIMEOUT_S) as resp:
                resp.read()
                traffic.record(True)
        except urllib.error.HTTPError as e:
            e.read()
            traffic.record(False)
        except OSError as e:
            log.warning("frontend did not answer: %s", e)
            traffic.record(False)
        finally:
            slots.release()

    with ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="demo-traffic") as pool:
        start = time.monotonic()
        while not stop.is_set() and (options.count == 0 or traffic.sent < options.count):
            due = start + traffic.sent / options.rate
            now = time.monotonic()
            if now - due > CATCH_UP_LIMIT_S:
                # Fell behind (a slow box, a paused container): carry on at the rate, not in a burst.
                start = now - traffic.sent / options.rate
            elif due > now and stop.wait(due - now):
                break
            while not slots.acquire(timeout=0.2):
                if stop.is_set():
                    break
            else:
                pool.submit(one, TRAFFIC_CUSTOMERS[traffic.sent % len(TRAFFIC_CUSTOMERS)])
                traffic.sent += 1
    return traffic


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _flush(telemetry: dict[str, ServiceTelemetry]) -> None:
    """Flush and shut every provider down at once: an unreachable endpoint costs one timeout, not four."""

    def close(t: ServiceTelemetry) -> None:
        if not t.provider.force_flush(FLUSH_TIMEOUT_MS):
            log.warning("%s: spans still unsent after %d ms", t.name, FLUSH_TIMEOUT_MS)
        t.provider.shutdown()

    threads = [
        threading.Thread(target=close, args=(t,), name=f"demo-flush-{t.name}") for t in telemetry.values()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
