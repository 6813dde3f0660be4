"""Plain-stdlib HTTP with spans: a threading server whose requests get SERVER spans, and a GET that
makes a CLIENT span. The W3C `traceparent` header carries the trace from one service to the next."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["Reply", "Handler", "ServiceServer", "CallError", "http_get", "client_host", "no_proxy_opener"]

# Explicitly W3C: OTEL_PROPAGATORS in a container's environment must not break the hops.
PROPAGATOR = TraceContextTextMapPropagator()
CALL_TIMEOUT_S = 10.0


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able


# A route gets the query parameters; it runs inside the request's SERVER span, so its spans nest there.
Handler = Callable[[Mapping[str, str]], Reply]


def no_proxy_opener() -> urllib.request.OpenerDirector:
    # http_proxy in a container's environment would send service-to-service calls astray.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def client_host(listen_host: str) -> str:
    """Where a service listening on `listen_host` is reached from this process."""
    if listen_host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if listen_host == "::":
        return "[::1]"
    return f"[{listen_host}]" if ":" in listen_host else listen_host


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "pyjaeger-demo"

    def do_GET(self) -> None:
        server = cast(ServiceServer, self.server)
        url = urlsplit(self.path)
        if url.path == "/health":
            ready = server.ready()
            self._send(Reply(200 if ready else 503, {"status": "ok" if ready else "starting"}))
            return
        handler = server.routes.get(url.path)
        if handler is None:
            self._send(Reply(404, {"error": f"no route {url.path}"}))
            return
        params = dict(parse_qsl(url.query))
        carrier = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host") or f"localhost:{server.port}"
        with server.tracer.start_as_current_span(
            f"HTTP GET {url.path}",
            context=PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.method": "GET",
                "http.url": f"http://{host}{self.path}",
                "http.route": url.path,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                reply = handler(params)
            except Exception as e:
                span.record_exception(e)
                reply = Reply(500, {"error": f"{type(e).__name__}: {e}"})
            span.set_attribute("http.status_code", reply.status)
            if reply.status >= 500:
                span.set_status(Status(StatusCode.ERROR, _error_text(reply)))
        # Answered after the span ends, so the caller's span always encloses it.
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the caller gave up (timeout, shutdown): nothing to tell it

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the start and exit lines


def _error_text(reply: Reply) -> str:
    if isinstance(reply.body, dict) and isinstance(reply.body.get("error"), str):
        return str(reply.body["error"])
    return f"HTTP {reply.status}"


class ServiceServer(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of --rate requests must not overflow the default backlog of 5.
    request_queue_size = 128

    def __init__(
        self,
        host: str,
        port: int,
        tracer: Tracer,
        routes: Mapping[str, Handler],
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.tracer = tracer
        self.routes = routes
        self.ready = ready
        self.address_family = _family(host)
        super().__init__((host, port), _RequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name=f"demo-{name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class CallError(Exception):
    """A downstream call failed: an HTTP error status or no answer at all."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"GET {url}: {detail}")
        self.status = status


_opener = no_proxy_opener()


def http_get(tracer: Tracer, url: str, peer_service: str) -> Any:
    """GET `url` in a CLIENT span and return its JSON body; CallError on a status >= 400 or no answer."""
    path = urlsplit(url).path
    with tracer.start_as_current_span(
        f"HTTP GET {path}",
        kind=SpanKind.CLIENT,
        attributes={"http.method": "GET", "http.url": url, "peer.service": peer_service},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        headers: dict[str, str] = {}
        PROPAGATOR.inject(headers)
        try:
            with _opener.open(urllib.request.Request(url, headers=headers), timeout=CALL_TIMEOUT_S) as resp:
                status, data = int(resp.status), resp.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        except OSError as e:
            span.record_exception(e)
            span.set_status(Status(StatusCode.ERROR, str(e)))
            raise CallError(url, 0, str(e)) from e
        span.set_attribute("http.status_code", status)
        body = json.loads(data) if data else None
        if status >= 400:
            detail = body.get("error") if isinstance(body, dict) else None
            span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
            raise CallError(url, status, f"HTTP {status}: {detail or 'no detail'}")
        return body
