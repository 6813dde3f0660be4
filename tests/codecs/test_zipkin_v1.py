"""Zipkin v1 JSON and Thrift → ZipkinSpan, and emitZipkinBatch on the agent."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TCompactProtocol import TCompactProtocol
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.codecs.agent_thrift import decode_agent_datagram, decode_agent_message
from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.zipkin_model import Annotation, Endpoint, ZipkinSpan
from pyjaeger.codecs.zipkin_v1_json import decode_v1_json
from pyjaeger.codecs.zipkin_v1_thrift import decode_v1_thrift
from pyjaeger.idl.gen_thrift.zipkincore import ttypes as _zipkincore

CAPTURES = Path(__file__).parent.parent / "fixtures" / "captures"

FRONT = {"serviceName": "frontend", "ipv4": "10.0.0.1", "port": 8080}
BACK = {"serviceName": "backend", "ipv4": "10.0.0.2", "port": 9000}
FRONT_EP = Endpoint("frontend", "10.0.0.1", None, 8080)
BACK_EP = Endpoint("backend", "10.0.0.2", None, 9000)

# The generated module carries no types.
z: Any = _zipkincore


def v1(**fields: Any) -> bytes:
    span = {"traceId": "00000000000000aa", "id": "00000000000000bb", "name": "op", **fields}
    return json.dumps([span]).encode()


def ann(ts: int, value: str, ep: dict[str, Any] | None = FRONT) -> dict[str, Any]:
    return {"timestamp": ts, "value": value, **({"endpoint": ep} if ep else {})}


def thrift_list(spans: list[Any]) -> bytes:
    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf)
    proto.writeListBegin(TType.STRUCT, len(spans))
    for s in spans:
        s.write(proto)
    proto.writeListEnd()
    return bytes(buf.getvalue())


def host(name: str = "frontend", ipv4: int = 0x0A000001, port: int = 8080) -> Any:
    return z.Endpoint(ipv4=ipv4, port=port, service_name=name)


# --- captures and Jaeger's test data --------------------------------------------------------


def _capture_shape(spans: list[ZipkinSpan]) -> None:
    by_name = {s.name: s for s in spans}
    assert len(spans) == 3
    root, client, local = by_name["GET /dispatch"], by_name["GET /customer"], by_name["local work"]
    assert root.trace_id >> 64 != 0  # 128-bit
    assert {s.trace_id for s in spans} == {root.trace_id}
    assert (root.kind, root.parent_id, root.shared) == ("SERVER", None, False)
    assert root.local_endpoint == Endpoint("frontend", "10.0.0.1", None, 8080)
    assert root.tags == {"http.method": "GET", "attempt": "2"}
    assert root.timestamp is not None and root.duration is not None and root.duration > 0
    assert client.kind == "CLIENT" and client.parent_id == root.id
    assert client.remote_endpoint == Endpoint("customer", "10.0.0.2", None, 8081)
    assert [a.value for a in client.annotations] == ["retrying"]
    assert local.kind is None and local.local_endpoint is None and local.duration


def test_py_zipkin_v1_json_capture() -> None:
    _capture_shape(decode_v1_json((CAPTURES / "py_zipkin-0.20.2_v1.json").read_bytes()))


def test_py_zipkin_v1_thrift_capture() -> None:
    _capture_shape(decode_v1_thrift((CAPTURES / "py_zipkin-0.20.2_v1_thrift-list.bin").read_bytes()))


def test_jaeger_merged_spans_json() -> None:
    # Its annotations carry no endpoint, so (as in Zipkin) they are plain events, not core ones.
    spans = decode_v1_json((CAPTURES / "jaeger-1.60.0_zipkin_v1_merged_spans.json").read_bytes())
    assert [(s.id, s.kind, s.timestamp, s.duration) for s in spans] == [
        (0x4ED11DF465275600, None, 1633073248674949, 14861),
        (0xC943743E25DC2CDF, None, 1633073248678309, 3360),
    ]
    assert [a.value for a in spans[1].annotations] == ["cs", "sr", "cr", "ss"]


def _thrift_from_go_json(obj: dict[str, Any]) -> Any:
    def endpoint(h: dict[str, Any] | None) -> Any:
        return h and z.Endpoint(h.get("ipv4"), h.get("port"), h.get("service_name"))

    return z.Span(
        trace_id=obj["trace_id"],
        name=obj["name"],
        id=obj["id"],
        parent_id=obj.get("parent_id"),
        annotations=[
            z.Annotation(a["timestamp"], a["value"], endpoint(a.get("host"))) for a in obj["annotations"]
        ],
        binary_annotations=[],
        debug=obj.get("debug"),
        timestamp=obj.get("timestamp"),
        duration=obj.get("duration"),
    )


def test_jaeger_merged_spans_thrift_split_into_client_and_shared_server() -> None:
    raw = json.loads((CAPTURES / "jaeger-1.60.0_zipkin_thrift_v1_merged_spans.json").read_text())
    spans = decode_v1_thrift(thrift_list([_thrift_from_go_json(o) for o in raw]))
    # The empty host (ipv4 0, port 0, "") still says whose side the annotations are.
    assert [(s.id, s.kind, s.shared, s.timestamp, s.duration) for s in spans] == [
        (0x4ED11DF465275600, "SERVER", False, 1633073248674949, 14861),
        (0xC943743E25DC2CDF, "CLIENT", False, 1633073248678309, 3360),
        (0xC943743E25DC2CDF, "SERVER", True, 1633073248681669, 1633073248688388 - 1633073248681669),
    ]
    assert spans[2].parent_id == spans[1].parent_id == 0x4ED11DF465275600
    assert spans[1].local_endpoint == Endpoint()


# --- core annotations -----------------------------------------------------------------------


def test_client_timing_from_cs_cr() -> None:
    (s,) = decode_v1_json(v1(annotations=[ann(100, "cs"), ann(150, "ws"), ann(250, "cr")]))
    assert (s.kind, s.timestamp, s.duration, s.local_endpoint) == ("CLIENT", 100, 150, FRONT_EP)
    assert s.annotations == [Annotation(150, "ws")]  # ws without ms stays an event


def test_server_timing_from_sr_ss_and_stated_timing_wins() -> None:
    (s,) = decode_v1_json(v1(annotations=[ann(100, "sr"), ann(180, "ss")]))
    assert (s.kind, s.timestamp, s.duration, s.shared) == ("SERVER", 100, 80, True)  # no stated timestamp
    (s,) = decode_v1_json(v1(timestamp=90, duration=100, annotations=[ann(100, "sr"), ann(180, "ss")]))
    assert (s.kind, s.timestamp, s.duration, s.shared) == ("SERVER", 90, 100, False)


def test_incomplete_rpc() -> None:
    (s,) = decode_v1_json(v1(annotations=[ann(100, "cs")]))
    assert (s.kind, s.timestamp, s.duration, s.annotations) == ("CLIENT", 100, None, [])
    (s,) = decode_v1_json(v1(annotations=[ann(200, "ss")]))
    assert (s.kind, s.timestamp, s.annotations) == ("SERVER", None, [Annotation(200, "ss")])


def test_core_annotation_without_endpoint_is_an_event() -> None:
    (s,) = decode_v1_json(v1(timestamp=5, duration=7, annotations=[ann(5, "cs", None), ann(12, "cr", None)]))
    assert (s.kind, s.timestamp, s.duration) == (None, 5, 7)
    assert [a.value for a in s.annotations] == ["cs", "cr"]


def test_shared_span_split_across_services() -> None:
    body = v1(
        timestamp=100,
        duration=100,
        annotations=[
            ann(100, "cs"),
            ann(110, "sr", BACK),
            ann(190, "ss", BACK),
            ann(200, "cr"),
            ann(150, "x", BACK),
        ],
        binaryAnnotations=[
            {"key": "sa", "value": True, "endpoint": BACK},
            {"key": "db", "value": "q", "endpoint": BACK},
        ],
    )
    client, server = decode_v1_json(body)
    assert (client.kind, client.timestamp, client.duration, client.shared) == ("CLIENT", 100, 100, False)
    assert (client.local_endpoint, client.remote_endpoint) == (FRONT_EP, BACK_EP)
    assert (server.kind, server.timestamp, server.duration, server.shared) == ("SERVER", 110, 80, True)
    assert server.local_endpoint == BACK_EP
    assert server.annotations == [Annotation(150, "x")] and server.tags == {"db": "q"}
    assert client.id == server.id


def test_loopback_shared_span_still_split() -> None:
    client, server = decode_v1_json(v1(annotations=[ann(1, "cs"), ann(2, "sr"), ann(3, "ss"), ann(4, "cr")]))
    assert [(s.kind, s.shared, s.timestamp, s.duration) for s in (client, server)] == [
        ("CLIENT", False, 1, 3),
        ("SERVER", True, 2, 1),
    ]


def test_messaging() -> None:
    (p,) = decode_v1_json(
        v1(
            annotations=[ann(10, "ms"), ann(15, "ws")],
            binaryAnnotations=[{"key": "ma", "value": True, "endpoint": BACK}],
        )
    )
    assert (p.kind, p.timestamp, p.duration, p.remote_endpoint) == ("PRODUCER", 10, 5, BACK_EP)
    (c,) = decode_v1_json(v1(annotations=[ann(20, "wr"), ann(30, "mr")]))
    assert (c.kind, c.timestamp, c.duration) == ("CONSUMER", 20, 10)


# --- binary annotations ---------------------------------------------------------------------


def test_address_annotations() -> None:
    (s,) = decode_v1_json(
        v1(
            annotations=[ann(1, "sr"), ann(2, "ss")],
            binaryAnnotations=[{"key": "ca", "value": True, "endpoint": BACK}],
        )
    )
    assert (s.kind, s.remote_endpoint) == ("SERVER", BACK_EP)
    # No core annotations: ca and sa alone give both endpoints; ca alone makes a server.
    (s,) = decode_v1_json(
        v1(
            binaryAnnotations=[
                {"key": "ca", "value": True, "endpoint": FRONT},
                {"key": "sa", "value": True, "endpoint": BACK},
            ]
        )
    )
    assert (s.kind, s.local_endpoint, s.remote_endpoint) == (None, FRONT_EP, BACK_EP)
    (s,) = decode_v1_json(v1(binaryAnnotations=[{"key": "ca", "value": True, "endpoint": FRONT}]))
    assert (s.kind, s.local_endpoint, s.remote_endpoint) == ("SERVER", None, FRONT_EP)


def test_local_component_gives_the_local_endpoint() -> None:
    (s,) = decode_v1_json(
        v1(timestamp=1, duration=2, binaryAnnotations=[{"key": "lc", "value": "", "endpoint": FRONT}])
    )
    assert (s.local_endpoint, s.tags, s.timestamp, s.duration) == (FRONT_EP, {}, 1, 2)
    (s,) = decode_v1_json(v1(binaryAnnotations=[{"key": "lc", "value": "cache", "endpoint": FRONT}]))
    assert (s.local_endpoint, s.tags) == (FRONT_EP, {"lc": "cache"})


def test_json_tag_values() -> None:
    bins = [{"key": "s", "value": "x"}, {"key": "b", "value": False}, {"key": "i", "value": 7},
            {"key": "f", "value": 1.5}, {"key": "n", "value": None}, {"key": "o", "value": {"a": 1}},
            {"key": "sa", "value": True}]  # fmt: skip
    (s,) = decode_v1_json(v1(binaryAnnotations=bins))
    assert s.tags == {"s": "x", "b": "false", "i": "7", "f": "1.5"}  # sa without endpoint: dropped
    assert s.remote_endpoint is None


def test_thrift_binary_annotation_types() -> None:
    def b(key: str, t: int, value: bytes) -> Any:
        return z.BinaryAnnotation(key, value, t, host())

    bins = [b("bool", 0, b"\x01"), b("bytes", 1, b"\x00\xff"), b("i16", 2, struct.pack(">h", -2)),
            b("i32", 3, struct.pack(">i", 70000)), b("i64", 4, struct.pack(">q", -(1 << 40))),
            b("double", 5, struct.pack(">d", 2.25)), b("string", 6, "é".encode()),
            b("sa", 0, b"\x01")]  # fmt: skip
    bins[-1].host = host("db", 0x7F000001, 5432)
    span = z.Span(
        trace_id=1,
        id=2,
        name="n",
        annotations=[z.Annotation(5, "cs", host()), z.Annotation(9, "cr", host())],
        binary_annotations=bins,
    )
    (s,) = decode_v1_thrift(thrift_list([span]))
    assert s.tags == {"bool": "true", "bytes": "AP8=", "i16": "-2", "i32": "70000", "i64": str(-(1 << 40)),
                      "double": "2.25", "string": "é"}  # fmt: skip
    assert (s.kind, s.timestamp, s.duration) == ("CLIENT", 5, 4)
    assert s.local_endpoint == FRONT_EP
    assert s.remote_endpoint == Endpoint("db", "127.0.0.1", None, 5432)


def test_thrift_ids_debug_and_ipv6() -> None:
    ep = z.Endpoint(ipv4=0, port=-1, service_name="svc", ipv6=bytes(15) + b"\x01")
    span = z.Span(
        trace_id=-1,
        trace_id_high=0x0102,
        id=-2,
        parent_id=-3,
        name="n",
        debug=True,
        timestamp=10,
        duration=20,
        annotations=[z.Annotation(10, "sr", ep)],
        binary_annotations=[],
    )
    (s,) = decode_v1_thrift(thrift_list([span]))
    assert s.trace_id == (0x0102 << 64) | ((1 << 64) - 1)
    assert (s.id, s.parent_id) == ((1 << 64) - 2, (1 << 64) - 3)
    assert s.debug and (s.timestamp, s.duration) == (10, 20)
    assert s.local_endpoint == Endpoint("svc", None, "::1", 65535)


def test_json_ids_and_debug() -> None:
    (s,) = decode_v1_json(
        v1(traceId="0102" + "f" * 16, id="ffffffffffffffff", parentId="0000000000000001", debug=True)
    )
    assert (s.trace_id, s.id, s.parent_id, s.debug) == (
        (0x0102 << 64) | ((1 << 64) - 1),
        (1 << 64) - 1,
        1,
        True,
    )


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{", "not JSON"),
        (b'{"traceId": "1"}', "expected an array"),
        (b"[1]", r"spans\[0\]: expected a span object"),
        (b'[{"id": "1"}]', "traceId and id are required"),
        (b'[{"traceId": 1, "id": "1"}]', r"traceId: expected a hex string"),
        (b'[{"traceId": "zz", "id": "1"}]', "not hexadecimal"),
        (b'[{"traceId": "0x1f", "id": "1"}]', "not hexadecimal"),  # int(s, 16) alone would take it
        (b'[{"traceId": "1", "id": "1", "timestamp": "x"}]', "timestamp: expected an integer"),
        (b'[{"traceId": "1", "id": "1", "annotations": {}}]', "annotations: expected an array"),
        (
            b'[{"traceId": "1", "id": "1", "annotations": [{"value": "cs"}]}]',
            "timestamp and value are required",
        ),
        (b'[{"traceId": "1", "id": "1", "binaryAnnotations": [{"value": "x"}]}]', "key: expected a string"),
        (
            b'[{"traceId": "1", "id": "1", "annotations": [{"timestamp": 1, "value": "cs", "endpoint": 3}]}]',
            "expected an endpoint object",
        ),
    ],
)
def test_bad_json(body: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_v1_json(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"junk",
        b"\x0c\x00\x00\x00\x05\x0a\x00",
        b"\x0b\x00\x00\x00\x01\x00\x00\x00\x01a",
        b"\x0c\xff\xff\xff\xff",
    ],
)
def test_bad_thrift(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_v1_thrift(body)


def test_thrift_missing_ids_and_bad_value_sizes() -> None:
    with pytest.raises(DecodeError, match="trace_id and id are required"):
        decode_v1_thrift(thrift_list([z.Span(name="n")]))
    bad = z.Span(trace_id=1, id=1, binary_annotations=[z.BinaryAnnotation("k", b"\x00", 4)])
    with pytest.raises(DecodeError, match="1 bytes for an I64"):
        decode_v1_thrift(thrift_list([bad]))


def test_empty_list() -> None:
    assert decode_v1_thrift(thrift_list([])) == []
    assert decode_v1_json(b"[]") == []


# --- agent emitZipkinBatch ------------------------------------------------------------------


def zipkin_datagram(spans: list[Any], protocol: str) -> bytes:
    buf = TMemoryBuffer()
    proto = TCompactProtocol(buf) if protocol == "compact" else TBinaryProtocol(buf)
    proto.writeMessageBegin("emitZipkinBatch", 4, 0)  # ONEWAY
    proto.writeStructBegin("emitZipkinBatch_args")
    proto.writeFieldBegin("spans", TType.LIST, 1)
    proto.writeListBegin(TType.STRUCT, len(spans))
    for s in spans:
        s.write(proto)
    proto.writeListEnd()
    proto.writeFieldEnd()
    proto.writeFieldStop()
    proto.writeStructEnd()
    proto.writeMessageEnd()
    return bytes(buf.getvalue())


def _agent_span() -> Any:
    return z.Span(
        trace_id=7,
        id=8,
        name="get",
        annotations=[z.Annotation(1000, "sr", host("agentsvc")), z.Annotation(1500, "ss", host("agentsvc"))],
        binary_annotations=[
            z.BinaryAnnotation("http.status_code", struct.pack(">h", 200), 2, host("agentsvc"))
        ],
    )


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_agent_emit_zipkin_batch(protocol: str) -> None:
    pytest.importorskip("pyjaeger.codecs.zipkin_translate")
    data = zipkin_datagram([_agent_span()], protocol)
    assert data[0] == (0x82 if protocol == "compact" else 0x80)
    fmt, spans = decode_agent_datagram(data)
    assert fmt == "zipkin"
    (s,) = spans
    assert (s.trace_id, s.span_id, s.operation_name, s.start_time, s.duration) == (7, 8, "get", 1000, 500)
    assert s.process.service_name == "agentsvc"
    assert decode_agent_message(data) == spans


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_agent_emit_zipkin_batch_bad(protocol: str) -> None:
    data = zipkin_datagram([_agent_span()], protocol)
    with pytest.raises(DecodeError, match="emitZipkinBatch"):
        decode_agent_message(data[:-5])
    with pytest.raises(DecodeError, match="trace_id and id are required"):
        decode_agent_message(zipkin_datagram([z.Span(name="x")], protocol))


@pytest.mark.parametrize(
    ("decode", "name"),
    [
        (decode_v1_thrift, "py-zipkin-0.20.2_v1_shared-server.thrift"),
        (decode_v1_json, "py-zipkin-1.2.8_v1_shared-server.json"),
    ],
)
def test_server_half_without_stated_timestamp_is_shared(decode: Any, name: str) -> None:
    # py_zipkin reports the server side of a B3-propagated call under the client's span id and
    # without a span timestamp: v1's way of saying "shared".
    (s,) = decode((CAPTURES / name).read_bytes())
    assert (s.kind, s.shared, s.local_endpoint and s.local_endpoint.service_name) == ("SERVER", True, "e2e-b")
    assert s.timestamp is not None and s.duration is not None
