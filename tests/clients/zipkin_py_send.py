"""Emit one known two-service trace with py_zipkin over real HTTP POSTs, then describe it.

Runs inside the py_zipkin client venv (tests/clients/requirements-zipkin-py.txt), never in the
server's environment. Usage::

    python zipkin_py_send.py --encoding v1_json --url http://127.0.0.1:9411 \
        --service-a e2e-a --service-b e2e-b [--capture-dir DIR]

Encodings: ``v1_json`` (POST /api/v1/spans), ``v2_json`` (POST /api/v2/spans), both
``application/json``, with py_zipkin 1.x (requirements-zipkin-py.txt); ``v1_thrift`` (POST
/api/v1/spans, ``application/x-thrift``) with py_zipkin 0.20.x (requirements-zipkin-py-thrift.txt):
1.x dropped the thrift encoder (its Encoding enum still names ``V1_THRIFT``).

The trace, B3-propagated the way a py_zipkin client and server would do it:

- ``GET /checkout`` in service A (SERVER, local root): tags ``http.path``, ``http.status_code``
  (numeric-looking string "200")
- ``GET /inventory`` in A (CLIENT, child of the root): annotation ``cache miss``
- ``GET /inventory`` in B (SERVER): joins A's client span through ``create_http_headers()`` /
  ``extract_zipkin_attrs_from_headers()``, so it reports the **same span id** (a shared span; v2
  marks it ``shared: true``). It raises, so py_zipkin adds ``error=ValueError: db down``. It runs
  in its own thread, as a real server would, and reports in its own POST.

Each local root flushes its spans in one POST through ``PostTransport`` (a py_zipkin transport
handler doing a plain ``urllib`` POST), so there are two POSTs: B's (1 span), then A's (2).
``--capture-dir`` also writes each body as sent (``01.body``, ``02.body``) for fixtures.

On success prints one JSON line (ids in lowercase hex) and exits 0; exits 1 when a POST was not
answered 202.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from py_zipkin import Encoding, Kind
from py_zipkin.request_helpers import create_http_headers, extract_zipkin_attrs_from_headers
from py_zipkin.transport import BaseTransportHandler
from py_zipkin.zipkin import zipkin_span

ENCODINGS = {
    "v1_json": (Encoding.V1_JSON, "/api/v1/spans", "application/json"),
    "v2_json": (Encoding.V2_JSON, "/api/v2/spans", "application/json"),
    # py_zipkin 0.20.x only (requirements-zipkin-py-thrift.txt): a binary-protocol list<Span>.
    "v1_thrift": (Encoding.V1_THRIFT, "/api/v1/spans", "application/x-thrift"),
}


def span_count(body: bytes, encoding: str) -> int:
    """Spans in one payload: a JSON list, or a TBinaryProtocol list header (type byte, i32 size)."""
    if encoding == "v1_thrift":
        assert body[0] == 12, body[:8]  # element type STRUCT
        return int.from_bytes(body[1:5], "big")
    return len(json.loads(body))


class PostTransport(BaseTransportHandler):
    """POSTs each payload py_zipkin hands over, as is, and remembers status and bytes."""

    def __init__(self, url: str, content_type: str) -> None:
        super().__init__()
        self.url = url
        self.content_type = content_type
        self.sent: list[tuple[int, bytes]] = []
        self.lock = threading.Lock()

    def get_max_payload_bytes(self) -> int | None:
        return None

    def send(self, payload: bytes | str) -> None:
        body = payload.encode("utf-8") if isinstance(payload, str) else payload
        req = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": self.content_type}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            print(f"POST {self.url}: {exc.code} {exc.read()[:500]!r}", file=sys.stderr)
        with self.lock:
            self.sent.append((status, body))


def serve_b(
    headers: dict[str, Any], service: str, encoding: Encoding, transport: PostTransport
) -> dict[str, Any]:
    """Service B's handler: joins the caller's span (shared id) and fails."""
    attrs = extract_zipkin_attrs_from_headers(headers)
    assert attrs is not None, headers
    seen: dict[str, Any] = {}
    try:
        with zipkin_span(
            service_name=service,
            span_name="GET /inventory",
            kind=Kind.SERVER,
            zipkin_attrs=attrs,
            transport_handler=transport,
            encoding=encoding,
        ) as span:
            span.update_binary_annotations({"db.rows": "0"})
            seen["span_id"] = span.zipkin_attrs.span_id
            seen["parent_span_id"] = span.zipkin_attrs.parent_span_id
            raise ValueError("db down")
    except ValueError:
        pass
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoding", choices=sorted(ENCODINGS), required=True)
    parser.add_argument("--url", required=True, help="base URL of the Zipkin receiver")
    parser.add_argument("--service-a", default="e2e-a")
    parser.add_argument("--service-b", default="e2e-b")
    parser.add_argument("--capture-dir", type=Path)
    args = parser.parse_args(argv)

    encoding, path, content_type = ENCODINGS[args.encoding]
    transport = PostTransport(args.url.rstrip("/") + path, content_type)
    server_seen: dict[str, Any] = {}
    with zipkin_span(
        service_name=args.service_a,
        span_name="GET /checkout",
        kind=Kind.SERVER,
        sample_rate=100.0,
        transport_handler=transport,
        encoding=encoding,
        use_128bit_trace_id=args.encoding == "v2_json",
    ) as root:
        root.update_binary_annotations({"http.path": "/checkout", "http.status_code": "200"})
        with zipkin_span(service_name=args.service_a, span_name="GET /inventory", kind=Kind.CLIENT) as client:
            client.add_annotation("cache miss")
            headers = {k: v for k, v in create_http_headers().items() if v is not None}
            worker = threading.Thread(
                target=lambda: server_seen.update(serve_b(headers, args.service_b, encoding, transport))
            )
            worker.start()
            worker.join()
        root_attrs, client_attrs = root.zipkin_attrs, client.zipkin_attrs

    statuses = [status for status, _ in transport.sent]
    if args.capture_dir:
        args.capture_dir.mkdir(parents=True, exist_ok=True)
        for i, (_, body) in enumerate(transport.sent, 1):
            (args.capture_dir / f"{i:02d}.body").write_bytes(body)
    if len(statuses) != 2 or any(s != 202 for s in statuses):
        print(f"expected two POSTs answered 202, got {statuses}", file=sys.stderr)
        return 1
    from importlib.metadata import version

    out = {
        "client": "py_zipkin",
        "version": version("py_zipkin"),
        "encoding": args.encoding,
        "statuses": statuses,
        "spans_per_post": [span_count(body, args.encoding) for _, body in transport.sent],
        "trace_id": root_attrs.trace_id,
        "spans": {
            "root": {"span_id": root_attrs.span_id, "parent_span_id": root_attrs.parent_span_id},
            "client": {"span_id": client_attrs.span_id, "parent_span_id": client_attrs.parent_span_id},
            "server": server_seen,
        },
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
