"""emitZipkinBatch datagrams on the agent's UDP servers: decoded and counted as model="zipkin"."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TCompactProtocol import TCompactProtocol
from thrift.transport.TTransport import TMemoryBuffer

from pyjaeger.agent.config import UDPServerConfig
from pyjaeger.agent.udp import UDPServer
from pyjaeger.hostport import HostPort
from pyjaeger.idl.gen_thrift.agent import Agent as _agent
from pyjaeger.idl.gen_thrift.zipkincore import ttypes as _zipkincore
from pyjaeger.metrics import UDPServerMetrics
from pyjaeger.model import Span

# The generated module carries no types.
z: Any = _zipkincore
emitZipkinBatch_args: Any = _agent.emitZipkinBatch_args


def datagram(protocol: str) -> bytes:
    host = z.Endpoint(ipv4=0x7F000001, port=80, service_name="zsvc")
    span = z.Span(
        trace_id=1,
        id=2,
        name="op",
        annotations=[z.Annotation(100, "cs", host), z.Annotation(160, "cr", host)],
        binary_annotations=[],
    )
    buf = TMemoryBuffer()
    proto = TCompactProtocol(buf) if protocol == "compact" else TBinaryProtocol(buf)
    proto.writeMessageBegin("emitZipkinBatch", 4, 0)
    emitZipkinBatch_args([span]).write(proto)
    proto.writeMessageEnd()
    return bytes(buf.getvalue())


@pytest.mark.parametrize("protocol", ["compact", "binary"])
def test_zipkin_datagram_decoded_and_labelled(protocol: str) -> None:
    registry = CollectorRegistry()
    got: list[Span] = []

    def sink(spans: list[Span], fmt: str) -> Any:
        assert fmt == "zipkin"
        got.extend(spans)

    server = UDPServer(
        "t", UDPServerConfig(HostPort("127.0.0.1", 0)), "compact", sink, UDPServerMetrics(registry)
    )
    server._handle(datagram(protocol))
    assert [(s.trace_id, s.span_id, s.duration, s.process.service_name) for s in got] == [(1, 2, 60, "zsvc")]
    processed = "jaeger_agent_thrift_udp_server_packets_processed_total"
    assert registry.get_sample_value(processed, {"model": "zipkin", "protocol": protocol}) == 1
    assert registry.get_sample_value(processed, {"model": "jaeger", "protocol": protocol}) in (None, 0)
