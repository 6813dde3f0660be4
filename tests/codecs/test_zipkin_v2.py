"""Zipkin v2 decoding: JSON arrays and proto3 ListOfSpans → ZipkinSpan, captures and Jaeger's payloads."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
from pathlib import Path

import orjson
import pytest
from google.protobuf import json_format

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.codecs.zipkin_model import Annotation, Endpoint, ZipkinSpan
from pyjaeger.codecs.zipkin_v2 import decode_v2_json, decode_v2_proto
from pyjaeger.idl.zipkin import zipkin_pb2

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
JAEGER_TRACE = 0xBD7A974555F6B982BD71977555F6B981  # zipkin_v2_01.json
PROTO_TRACE = int.from_bytes(base64.b64decode("QoVouqoJRn5CjmiKqglGfw=="), "big")  # zipkin_proto_0*.json


def jaeger_proto_fixture(name: str) -> bytes:
    """Jaeger's proto test payloads are ListOfSpans in protobuf's JSON mapping; make them bytes."""
    msg = json_format.Parse((CAPTURES / name).read_text(), zipkin_pb2.ListOfSpans())
    return msg.SerializeToString()


def one(body: object) -> ZipkinSpan:
    (span,) = decode_v2_json(orjson.dumps([body]))
    return span


BASE = {"traceId": "0000000000000001", "id": "0000000000000002"}


def test_otel_json_capture() -> None:
    spans = decode_v2_json((CAPTURES / "otel-zipkin-json_v2.json").read_bytes())
    assert [s.name for s in spans] == ["child-2", "child-1", "root"]
    root = spans[2]
    assert root.trace_id == 0x0C715DE45956A70786EACC20DC4B08DB
    assert root.id == 0xB426F5623D5E8725 and root.parent_id is None
    assert spans[1].parent_id == root.id and spans[0].parent_id == spans[1].id
    assert root.kind is None  # "kind": null
    assert root.timestamp == 1795490031400632 and root.duration == 98
    assert root.local_endpoint == Endpoint("demo-zipkin-json")
    assert root.debug and not root.shared
    assert root.tags["http.status_code"] == "200"
    assert spans[1].annotations == [Annotation(1795490031400683, '{"hello": {"n": 1}}')]


def test_otel_proto_capture() -> None:
    spans = decode_v2_proto((CAPTURES / "otel-zipkin-proto_ListOfSpans.bin").read_bytes())
    assert [s.name for s in spans] == ["child-2", "child-1", "root"]
    assert len({s.trace_id for s in spans}) == 1 and spans[0].trace_id >> 64
    assert spans[2].parent_id is None and spans[1].parent_id == spans[2].id
    assert spans[2].local_endpoint == Endpoint("demo-zipkin-proto")
    assert spans[1].annotations[0].value == '{"hello": {"n": 1}}'


def test_jaeger_v2_01_and_proto_01_decode_alike() -> None:
    (j,) = decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_01.json").read_bytes())
    (p,) = decode_v2_proto(jaeger_proto_fixture("jaeger-1.60.0_zipkin_proto_01.json"))
    assert p.trace_id == PROTO_TRACE
    assert dataclasses.replace(p, trace_id=j.trace_id) == j  # the same span but for its trace id
    assert j == ZipkinSpan(
        JAEGER_TRACE,
        2,
        1,
        "foo",
        "CLIENT",
        1,
        10,
        Endpoint("foo", "10.43.17.42"),
        Endpoint("bar", "10.43.17.43"),
        [Annotation(1, "foo")],
        {"foo": "bar"},
        debug=True,
        shared=True,
    )


def test_jaeger_v2_02_short_ids_and_proto_02() -> None:
    (j,) = decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_02.json").read_bytes())
    assert (j.trace_id, j.id, j.parent_id) == (2, 2, None)
    assert j.local_endpoint == Endpoint("bar", "10.43.17.42", None, 8080)
    (p,) = decode_v2_proto(jaeger_proto_fixture("jaeger-1.60.0_zipkin_proto_02.json"))
    assert p.local_endpoint == j.local_endpoint and p.trace_id == PROTO_TRACE


def test_jaeger_v2_03_producer() -> None:
    (s,) = decode_v2_json((CAPTURES / "jaeger-1.60.0_zipkin_v2_03.json").read_bytes())
    assert s.kind == "PRODUCER" and s.parent_id == 0xC26551047C72D19  # 15 hex digits, padded
    assert s.remote_endpoint == Endpoint("kafka")


def test_ids_64_and_128_bit() -> None:
    assert one(BASE).trace_id == 1
    s = one({"traceId": "463ac35c9f6413ad48485a3953bb6124", "id": "A2FB4A1D1A96D312"})
    assert s.trace_id == 0x463AC35C9F6413AD48485A3953BB6124 and s.id == 0xA2FB4A1D1A96D312


def test_parent_zero_or_empty_is_none() -> None:
    assert one({**BASE, "parentId": "0000000000000000"}).parent_id is None
    assert one({**BASE, "parentId": ""}).parent_id is None
    assert one({**BASE, "parentId": None}).parent_id is None


def test_zero_times_are_absent() -> None:
    s = one({**BASE, "timestamp": 0, "duration": 0})
    assert s.timestamp is None and s.duration is None
    assert one(BASE).timestamp is None


def test_unknown_kind_is_none_and_unknown_fields_ignored() -> None:
    assert one({**BASE, "kind": "SIDEWAYS", "extra": {"x": 1}}).kind is None


def test_endpoint_ips_are_canonical() -> None:
    s = one({**BASE, "remoteEndpoint": {"ipv6": "2001:DB8:0:0:0:0:0:1", "port": 0, "serviceName": ""}})
    assert s.remote_endpoint == Endpoint(None, None, "2001:db8::1", None)
    s = one({**BASE, "localEndpoint": {"ipv6": "::ffff:10.0.0.1"}})
    assert s.local_endpoint == Endpoint(None, None, "10.0.0.1")


def test_scalar_tag_values_become_text() -> None:
    s = one({**BASE, "tags": {"a": 1, "b": True, "c": 1.5, "d": None, "e": "x"}})
    assert s.tags == {"a": "1", "b": "true", "c": "1.5", "e": "x"}


def test_empty_array() -> None:
    assert decode_v2_json(b"[]") == []
    assert decode_v2_proto(b"") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "invalid JSON"),
        (b'{"traceId": "1"}', "expected an array of spans, got an object"),
        (b"[1]", "span[0]: expected a span object"),
        (b'[{"id": "1"}]', "span[0].traceId: required"),
        (b'[{"traceId": "1"}]', "span[0].id: required"),
        (b'[{"traceId": "xyz", "id": "1"}]', "span[0].traceId: 'xyz' is not 1 to 32 hex"),
        (b'[{"traceId": "0x12", "id": "1"}]', "span[0].traceId"),
        (b'[{"traceId": "1", "id": "12345678901234567"}]', "span[0].id: '12345678901234567' is not 1 to 16"),
        (b'[{"traceId": "0000", "id": "1"}]', "span[0].traceId: must not be all zeros"),
        (b'[{"traceId": "1", "id": "0"}]', "span[0].id: must not be all zeros"),
        (b'[{"traceId": 1, "id": "1"}]', "span[0].traceId: expected a hex string, got a number"),
        (b'[{"traceId": "1", "id": "1", "timestamp": "5"}]', "span[0].timestamp"),
        (b'[{"traceId": "1", "id": "1", "debug": "yes"}]', "span[0].debug: expected a boolean"),
        (b'[{"traceId": "1", "id": "1", "tags": []}]', "span[0].tags: expected an object"),
        (b'[{"traceId": "1", "id": "1", "tags": {"k": {}}}]', "span[0].tags.k"),
        (b'[{"traceId": "1", "id": "1", "annotations": [{"value": 3}]}]', "span[0].annotations[0].value"),
        (b'[{"traceId": "1", "id": "1", "localEndpoint": {"ipv4": "1.2.3"}}]', "localEndpoint.ipv4"),
        (b'[{"traceId": "1", "id": "1", "localEndpoint": {"port": 70000}}]', "localEndpoint.port"),
        (b'[{"traceId": "1", "id": "1"}, {"traceId": "1"}]', "span[1].id: required"),
    ],
)
def test_bad_json(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match="zipkin v2 JSON") as info:
        decode_v2_json(body)
    assert message in str(info.value)


def proto_span(**fields: object) -> bytes:
    base: dict[str, object] = {"trace_id": (1).to_bytes(8, "big"), "id": (2).to_bytes(8, "big")}
    base.update(fields)
    return zipkin_pb2.ListOfSpans(spans=[zipkin_pb2.Span(**base)]).SerializeToString()  # type: ignore[arg-type]


def test_proto_fields() -> None:
    data = proto_span(
        trace_id=bytes(range(1, 17)),
        parent_id=(2).to_bytes(8, "big"),
        kind=zipkin_pb2.Span.SERVER,
        local_endpoint=zipkin_pb2.Endpoint(ipv6=bytes(15) + b"\x01", port=99),
        remote_endpoint=zipkin_pb2.Endpoint(port=-1),
    )
    (s,) = decode_v2_proto(data)
    assert s.trace_id == int.from_bytes(bytes(range(1, 17)), "big")
    assert s.parent_id == 2 and s.kind == "SERVER"
    assert s.local_endpoint == Endpoint(None, None, "::1", 99)
    assert s.remote_endpoint == Endpoint()
    assert s.timestamp is None and s.duration is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xff\xff\xff", "zipkin proto3 ListOfSpans"),
        (b"[{}]", "zipkin proto3 ListOfSpans"),
        (proto_span(trace_id=b"\x01" * 4), "spans[0].trace_id: must be 8 or 16 bytes, got 4"),
        (proto_span(trace_id=bytes(16)), "spans[0].trace_id: must not be all zeros"),
        (proto_span(id=b""), "spans[0].id: must be 8 bytes, got 0"),
        (proto_span(id=bytes(8)), "spans[0].id: must not be all zeros"),
        (proto_span(parent_id=b"\x01"), "spans[0].parent_id"),
        (proto_span(local_endpoint=zipkin_pb2.Endpoint(ipv4=b"\x01")), "local_endpoint.ipv4"),
    ],
)
def test_bad_proto(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_v2_proto(data)
    assert message in str(info.value)


def test_json_and_proto_of_the_same_spans_decode_equal() -> None:
    body = [
        {
            "traceId": "463ac35c9f6413ad48485a3953bb6124",
            "id": "a2fb4a1d1a96d312",
            "parentId": "0020000000000001",
            "kind": "CONSUMER",
            "name": "get /api",
            "timestamp": 1472470996199000,
            "duration": 207000,
            "localEndpoint": {"serviceName": "backend", "ipv4": "192.168.99.1", "port": 3306},
            "remoteEndpoint": {"ipv6": "2001:db8::c001", "port": 80},
            "annotations": [{"timestamp": 1472470996238000, "value": "ws"}],
            "tags": {"http.path": "/api", "clnt/finagle.version": "6.45.0"},
            "shared": True,
        }
    ]
    (j,) = decode_v2_json(orjson.dumps(body))
    b = body[0]
    pb = zipkin_pb2.Span(
        trace_id=bytes.fromhex(str(b["traceId"])),
        id=bytes.fromhex(str(b["id"])),
        parent_id=bytes.fromhex(str(b["parentId"])),
        kind=zipkin_pb2.Span.CONSUMER,
        name="get /api",
        timestamp=1472470996199000,
        duration=207000,
        local_endpoint=zipkin_pb2.Endpoint(service_name="backend", ipv4=bytes([192, 168, 99, 1]), port=3306),
        remote_endpoint=zipkin_pb2.Endpoint(ipv6=ipaddress.IPv6Address("2001:db8::c001").packed, port=80),
        annotations=[zipkin_pb2.Annotation(timestamp=1472470996238000, value="ws")],
        tags={"http.path": "/api", "clnt/finagle.version": "6.45.0"},
        shared=True,
    )
    (p,) = decode_v2_proto(zipkin_pb2.ListOfSpans(spans=[pb]).SerializeToString())
    assert p == j
