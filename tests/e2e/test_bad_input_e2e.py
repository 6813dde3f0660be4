"""Bad input on every Jaeger-native port: counted, survived, and followed by a good batch stored.

Each case gets a fresh all-in-one, so every counter starts at zero and can be checked exactly.
It sends one bad payload, then checks that the process still runs and answers its health check,
that exactly the right counter moved, and that a real client's batch (a captured payload from
tests/fixtures/captures, sent as is) sent right after is stored whole.

- UDP 6831 / 6832 (both accept compact and binary; the agent metrics are summed over the
  ``protocol`` label): random bytes, a truncated real datagram, a datagram over the 65000-byte
  ``server-max-packet-size``, and ``emitBatch`` messages whose structs carry wrongly typed fields
  (a string where the Batch struct belongs; an i32 where the span list belongs).
- HTTP 14268 ``POST /api/traces``: garbage, a truncated body, a wrong and a missing Content-Type,
  each with Jaeger's 400 text.
- gRPC 14250 ``PostSpans`` called with raw bytes: garbage and a truncated message give
  INVALID_ARGUMENT.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

pytestmark = pytest.mark.e2e

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
PY_COMPACT = CAPTURES / "py-jaeger-client-4.8.0_udp6831_compact.bin"  # trace 528f7ba997f2ea10
NODE_BINARY = CAPTURES / "node-jaeger-client-3.19.0_udp6832_binary.bin"  # trace 3401c55938380645
COLLECTOR_BATCH = CAPTURES / "otel-jaeger-thrift-collector_http14268_binary-batch.bin"
POST_SPANS = CAPTURES / "otel-jaeger-proto-grpc_PostSpansRequest.bin"
# The trace each capture holds (3 spans each), read from the captures once.
GOOD_TRACE = {
    PY_COMPACT: "528f7ba997f2ea10",
    NODE_BINARY: "3401c55938380645",
    COLLECTOR_BATCH: "c3e09f6302bd6a32d5000b20b3351e52",
    POST_SPANS: "2825eab1556411f5239f3bb847800cbc",
}

UDP = "jaeger_agent_thrift_udp"
PROCESSED = f"{UDP}_server_packets_processed_total"
DROPPED = f"{UDP}_server_packets_dropped_total"
READ_ERRORS = f"{UDP}_server_read_errors_total"
HANDLER_ERRORS = f"{UDP}_t_processor_handler_errors_total"
UDP_COUNTERS = (PROCESSED, DROPPED, READ_ERRORS, HANDLER_ERRORS)
MAX_IPV4_UDP_PAYLOAD = 65_507  # 65535 - 20 (IP header) - 8 (UDP header)


# -- hand-made Thrift messages ------------------------------------------------------------------


def compact_emit_batch_header() -> bytes:
    # protocol id, ONEWAY(4)<<5 | version 1, seqid 0 (varint), name length (varint), name
    return b"\x82\x81\x00\x09emitBatch"


def binary_emit_batch_header() -> bytes:
    # strict: version|ONEWAY, name as i32 length + bytes, seqid i32
    return struct.pack(">I", 0x8001_0004) + struct.pack(">i", 9) + b"emitBatch" + struct.pack(">i", 0)


def wrong_type_args(protocol: str) -> bytes:
    """emitBatch_args whose field 1 (Batch, a struct) is a string."""
    if protocol == "compact":
        # field header: delta 1, type 8 (binary); varint length; bytes; STOP
        return compact_emit_batch_header() + b"\x18\x05hello\x00"
    # field header: type 11 (string), id 1; i32 length; bytes; STOP
    return binary_emit_batch_header() + b"\x0b\x00\x01" + struct.pack(">i", 5) + b"hello\x00"


def wrong_type_spans(protocol: str) -> bytes:
    """A Batch with a valid Process but an i32 where field 2 (list<Span>) belongs."""
    if protocol == "compact":
        # args.1 struct { Batch.1 struct { Process.1 string "x" STOP } Batch.2 i32 7 STOP } STOP
        return compact_emit_batch_header() + b"\x1c\x1c\x18\x01x\x00\x15\x0e\x00\x00"
    return (
        binary_emit_batch_header()
        + b"\x0c\x00\x01"  # args.1 Batch
        + b"\x0c\x00\x01"  # Batch.1 Process
        + b"\x0b\x00\x01"
        + struct.pack(">i", 1)
        + b"x\x00"  # Process.1 "x", STOP
        + b"\x08\x00\x02"
        + struct.pack(">i", 7)  # Batch.2 as i32
        + b"\x00\x00"  # STOP Batch, STOP args
    )


def random_garbage(seed: int, size: int = 512) -> bytes:
    # The first byte is neither 0x82 (compact) nor 0x80 (binary), so no decoder can start.
    return b"\x00" + random.Random(seed).randbytes(size - 1)


def truncated(path: Path) -> bytes:
    data = path.read_bytes()
    return data[: len(data) // 2]


def oversized(path: Path) -> bytes:
    """A real datagram padded to the largest IPv4 UDP payload, past the 65000-byte limit."""
    data = path.read_bytes()
    return data + b"\x00" * (MAX_IPV4_UDP_PAYLOAD - len(data))


# -- helpers ------------------------------------------------------------------------------------


def udp_counts(server: Any) -> dict[str, float]:
    scrape = server.metrics()
    return {name: scrape.value(name, model="jaeger") for name in UDP_COUNTERS}


def assert_alive(server: Any) -> None:
    assert server.proc.poll() is None, f"pyjaeger exited with {server.proc.returncode}"
    assert server.alive(), "pyjaeger no longer answers its health check"


def good_udp_batch_is_stored(
    server: Any, port: str, capture: Path, wait_for_trace: Callable[..., Any]
) -> None:
    before = udp_counts(server)
    server.send_udp(port, capture.read_bytes())
    trace = wait_for_trace(server, GOOD_TRACE[capture], 3)
    assert trace["traceID"] == GOOD_TRACE[capture]
    server.wait_metric(PROCESSED, before[PROCESSED] + 1, model="jaeger")
    after = udp_counts(server)
    for name in (DROPPED, READ_ERRORS, HANDLER_ERRORS):
        assert after[name] == before[name], f"{name} moved for a good batch"


# -- UDP ----------------------------------------------------------------------------------------

# (case id, UDP port, payload builder, counter that must move by one)
UDP_CASES: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("6831-random", "agent_compact", lambda: random_garbage(6831), HANDLER_ERRORS),
    ("6831-truncated-compact", "agent_compact", lambda: truncated(PY_COMPACT), HANDLER_ERRORS),
    ("6831-truncated-binary", "agent_compact", lambda: truncated(NODE_BINARY), HANDLER_ERRORS),
    ("6831-oversized", "agent_compact", lambda: oversized(PY_COMPACT), READ_ERRORS),
    ("6831-string-for-batch", "agent_compact", lambda: wrong_type_args("compact"), HANDLER_ERRORS),
    ("6831-i32-for-spans", "agent_compact", lambda: wrong_type_spans("compact"), HANDLER_ERRORS),
    ("6832-random", "agent_binary", lambda: random_garbage(6832), HANDLER_ERRORS),
    ("6832-truncated-binary", "agent_binary", lambda: truncated(NODE_BINARY), HANDLER_ERRORS),
    ("6832-truncated-compact", "agent_binary", lambda: truncated(PY_COMPACT), HANDLER_ERRORS),
    ("6832-oversized", "agent_binary", lambda: oversized(NODE_BINARY), READ_ERRORS),
    ("6832-string-for-batch", "agent_binary", lambda: wrong_type_args("binary"), HANDLER_ERRORS),
    ("6832-i32-for-spans", "agent_binary", lambda: wrong_type_spans("binary"), HANDLER_ERRORS),
]


@pytest.mark.parametrize(
    ("port", "payload", "counter"), [c[1:] for c in UDP_CASES], ids=[c[0] for c in UDP_CASES]
)
def test_bad_datagram(
    pyjaeger_server: Any,
    wait_for_trace: Callable[..., Any],
    port: str,
    payload: Callable[[], bytes],
    counter: str,
) -> None:
    server = pyjaeger_server
    before = udp_counts(server)
    server.send_udp(port, payload())
    server.wait_metric(counter, before[counter] + 1, model="jaeger")
    after = udp_counts(server)
    for name in UDP_COUNTERS:
        expected = before[name] + (1 if name == counter else 0)
        assert after[name] == expected, f"{name}: {before[name]} -> {after[name]}"
    assert_alive(server)
    capture = PY_COMPACT if port == "agent_compact" else NODE_BINARY
    good_udp_batch_is_stored(server, port, capture, wait_for_trace)
    # and the native capture of the other protocol on the same port
    other = NODE_BINARY if capture == PY_COMPACT else PY_COMPACT
    good_udp_batch_is_stored(server, port, other, wait_for_trace)
    assert_alive(server)


def test_70kb_datagram_cannot_leave_the_client(pyjaeger_server: Any) -> None:
    """A 70 kB UDP datagram does not exist on IPv4: the sender's kernel refuses it (EMSGSIZE).

    So the largest datagram the server can ever see is 65507 bytes; the ``oversized`` cases
    above send exactly that.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(OSError):
        sock.sendto(b"\x82" + b"\x00" * 69_999, pyjaeger_server.udp_address("agent_compact"))
    assert udp_counts(pyjaeger_server) == dict.fromkeys(UDP_COUNTERS, 0.0)


def test_burst_of_bad_datagrams_counted_exactly(
    pyjaeger_server: Any, wait_for_trace: Callable[..., Any]
) -> None:
    server = pyjaeger_server
    bad = [random_garbage(seed) for seed in range(50)] + [wrong_type_args("compact")] * 25
    server.send_udp("agent_compact", *bad)
    server.send_udp("agent_binary", *[truncated(NODE_BINARY)] * 25)
    server.wait_metric(HANDLER_ERRORS, 100, model="jaeger")
    assert udp_counts(server) == {PROCESSED: 0, DROPPED: 0, READ_ERRORS: 0, HANDLER_ERRORS: 100}
    assert_alive(server)
    good_udp_batch_is_stored(server, "agent_compact", PY_COMPACT, wait_for_trace)


# -- HTTP 14268 ---------------------------------------------------------------------------------

HTTP_CASES: list[tuple[str, Callable[[], bytes], str | None, str]] = [
    ("garbage", lambda: random_garbage(14268), "application/x-thrift", "Unable to process request body"),
    (
        "truncated",
        lambda: truncated(COLLECTOR_BATCH),
        "application/x-thrift",
        "Unable to process request body",
    ),
    (
        "wrong-content-type",
        COLLECTOR_BATCH.read_bytes,
        "application/json",
        "Unsupported content type: application/json",
    ),
    ("no-content-type", COLLECTOR_BATCH.read_bytes, None, "Cannot parse content type"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "message"), [c[1:] for c in HTTP_CASES], ids=[c[0] for c in HTTP_CASES]
)
def test_bad_http_batch(
    pyjaeger_server: Any,
    wait_for_trace: Callable[..., Any],
    body: Callable[[], bytes],
    content_type: str | None,
    message: str,
) -> None:
    server = pyjaeger_server
    url = f"{server.collector_http_url}/api/traces"
    headers = {"Content-Type": content_type} if content_type else {}
    resp = server.http.post(url, content=body(), headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.text.startswith(message), resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    assert_alive(server)
    resp = server.http.post(
        url + "?format=jaeger.thrift",
        content=COLLECTOR_BATCH.read_bytes(),
        headers={"Content-Type": "application/x-thrift"},
    )
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    wait_for_trace(server, GOOD_TRACE[COLLECTOR_BATCH], 3)
    received = server.metrics().value(
        "jaeger_collector_spans_received_total", format="jaeger", transport="http"
    )
    assert received == 3  # the bad request added nothing


def test_thrift_content_type_alias_and_parameters(
    pyjaeger_server: Any, wait_for_trace: Callable[..., Any]
) -> None:
    """Jaeger parses the media type: the binary alias and parameters are fine."""
    resp = pyjaeger_server.http.post(
        f"{pyjaeger_server.collector_http_url}/api/traces",
        content=COLLECTOR_BATCH.read_bytes(),
        headers={"Content-Type": "application/vnd.apache.thrift.binary; charset=utf-8"},
    )
    assert resp.status_code == 202, resp.text
    wait_for_trace(pyjaeger_server, GOOD_TRACE[COLLECTOR_BATCH], 3)


# -- gRPC 14250 ---------------------------------------------------------------------------------


def post_spans(server: Any, payload: bytes) -> tuple[grpc.StatusCode, str]:
    """Call PostSpans with raw bytes (no client-side encoding to get in the way)."""
    with grpc.insecure_channel(server.collector_grpc_endpoint) as channel:
        call = channel.unary_unary("/jaeger.api_v2.CollectorService/PostSpans")
        try:
            raw = call(payload, timeout=5.0)
        except grpc.RpcError as e:
            return e.code(), e.details() or ""
    assert raw == b"", raw  # PostSpansResponse{} is empty
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xff\xff\xff",  # field number 0x1fffffff with wire type 7: no such wire type
        truncated(POST_SPANS),
        b"\x0a\x05\x12\x03\x0a\x01",  # batch { process { service_name: length past the end
    ],
    ids=["garbage", "truncated", "length-past-end"],
)
def test_bad_post_spans(pyjaeger_server: Any, wait_for_trace: Callable[..., Any], payload: bytes) -> None:
    server = pyjaeger_server
    code, details = post_spans(server, payload)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert_alive(server)
    assert post_spans(server, POST_SPANS.read_bytes()) == (grpc.StatusCode.OK, "")
    wait_for_trace(server, GOOD_TRACE[POST_SPANS], 3)
    received = server.metrics().value(
        "jaeger_collector_spans_received_total", format="proto", transport="grpc"
    )
    assert received == 3
