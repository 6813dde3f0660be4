"""The query gRPC services on a real socket: `jaeger.api_v2.QueryService` and
`jaeger.api_v3.QueryService`, called by clients built from our generated protos."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.proto.trace.v1 import trace_pb2

from pyjaeger.cmd.app import App
from pyjaeger.codecs.api_v2 import batch_pb_to_spans
from pyjaeger.codecs.otlp import decode_export_request
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.hostport import HostPort
from pyjaeger.idl.api_v2 import model_pb2
from pyjaeger.idl.api_v2 import query_pb2 as v2
from pyjaeger.idl.api_v3 import query_service_pb2 as v3
from pyjaeger.model import DependencyLink, Span, Trace
from pyjaeger.query.grpc_api import (
    API_V2_QUERY_SERVICE,
    API_V3_QUERY_SERVICE,
    QUERY_GRPC_MAX_MESSAGE_SIZE,
    query_grpc_handlers,
)
from pyjaeger.query.service import QueryService
from pyjaeger.servers import GrpcServer
from pyjaeger.storage.base import DependencyReader, Operation, SpanReader, StorageError, TraceQuery

T0 = 1_700_000_000_000_000  # µs
BIG = 23  # spans in the big trace: chunks of 10, 10 and 3
TRACE_128 = (0xFEED << 64) | 0x3
INVALID = grpc.StatusCode.INVALID_ARGUMENT

R = TypeVar("R", bound=Message)


def ts(us: int, extra_ns: int = 0) -> Timestamp:
    return Timestamp(seconds=us // 1_000_000, nanos=us % 1_000_000 * 1000 + extra_ns)


def window(**kw: Any) -> dict[str, Any]:
    return {"start_time_min": ts(T0 - 1_000_000), "start_time_max": ts(T0 + 1_000_000), **kw}


def canonical(spans: Sequence[Span]) -> list[Span]:
    """Spans as an OTLP receiver stores them, so model → OTLP → model gives them back."""
    return decode_export_request(encode_export_request(spans)).spans


def by_id(spans: Sequence[Span]) -> list[Span]:
    return sorted(spans, key=lambda s: s.span_id)


class Client:
    """Both services over one channel, with our messages' (de)serializers."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel

    def _unary(self, service: str, method: str, resp: type[R]) -> Callable[[Message], Awaitable[R]]:
        call = self.channel.unary_unary(
            f"/{service}/{method}", request_serializer=_serialize, response_deserializer=resp.FromString
        )
        return cast(Callable[[Message], Awaitable[R]], call)

    def _stream(self, service: str, method: str, resp: Any) -> Any:
        return self.channel.unary_stream(
            f"/{service}/{method}", request_serializer=_serialize, response_deserializer=resp.FromString
        )

    async def v2_get_trace(self, req: v2.GetTraceRequest) -> list[v2.SpansResponseChunk]:
        return [c async for c in self._stream(API_V2_QUERY_SERVICE, "GetTrace", v2.SpansResponseChunk)(req)]

    async def v2_find_traces(self, req: v2.FindTracesRequest) -> list[v2.SpansResponseChunk]:
        return [c async for c in self._stream(API_V2_QUERY_SERVICE, "FindTraces", v2.SpansResponseChunk)(req)]

    async def v2_archive(self, req: v2.ArchiveTraceRequest) -> v2.ArchiveTraceResponse:
        return await self._unary(API_V2_QUERY_SERVICE, "ArchiveTrace", v2.ArchiveTraceResponse)(req)

    async def v2_services(self) -> v2.GetServicesResponse:
        call = self._unary(API_V2_QUERY_SERVICE, "GetServices", v2.GetServicesResponse)
        return await call(v2.GetServicesRequest())

    async def v2_operations(self, req: v2.GetOperationsRequest) -> v2.GetOperationsResponse:
        return await self._unary(API_V2_QUERY_SERVICE, "GetOperations", v2.GetOperationsResponse)(req)

    async def v2_dependencies(self, req: v2.GetDependenciesRequest) -> v2.GetDependenciesResponse:
        return await self._unary(API_V2_QUERY_SERVICE, "GetDependencies", v2.GetDependenciesResponse)(req)

    async def v3_get_trace(self, req: v3.GetTraceRequest) -> list[Any]:
        return [t async for t in self._stream(API_V3_QUERY_SERVICE, "GetTrace", trace_pb2.TracesData)(req)]

    async def v3_find_traces(self, req: Any) -> list[Any]:
        return [t async for t in self._stream(API_V3_QUERY_SERVICE, "FindTraces", trace_pb2.TracesData)(req)]

    async def v3_services(self) -> v3.GetServicesResponse:
        call = self._unary(API_V3_QUERY_SERVICE, "GetServices", v3.GetServicesResponse)
        return await call(v3.GetServicesRequest())

    async def v3_operations(self, req: v3.GetOperationsRequest) -> v3.GetOperationsResponse:
        return await self._unary(API_V3_QUERY_SERVICE, "GetOperations", v3.GetOperationsResponse)(req)

    async def v3_dependencies(self, req: v3.GetDependenciesRequest) -> v3.DependenciesResponse:
        return await self._unary(API_V3_QUERY_SERVICE, "GetDependencies", v3.DependenciesResponse)(req)

    async def v3_summaries(self, req: Any) -> list[v3.FindTraceSummariesResponse]:
        call = self._stream(API_V3_QUERY_SERVICE, "FindTraceSummaries", v3.FindTraceSummariesResponse)
        return [r async for r in call(req)]

    async def raw(self, service: str, method: str, data: bytes, *, stream: bool) -> list[bytes]:
        """Send bytes as they are, for requests our messages cannot express."""
        if stream:
            call = self.channel.unary_stream(f"/{service}/{method}")
            return [m async for m in call(data)]
        return [await self.channel.unary_unary(f"/{service}/{method}")(data)]


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


async def refused(code: grpc.StatusCode, aw: Any) -> str:
    """The call's error details, after checking its status code."""
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await aw
    assert e.value.code() == code, e.value.details()
    details = e.value.details()
    assert details
    return str(details)


def seed_spans(span: Callable[..., Any]) -> list[Span]:
    spans = [
        span(
            0x1,
            0xA,
            service="frontend",
            operation="GET /",
            start=T0,
            duration=5000,
            tags={"span.kind": "server", "http.status_code": 200},
            process_tags={"hostname": "h1"},
        ),
        span(
            0x1,
            0xB,
            parent=0xA,
            service="backend",
            operation="query",
            start=T0 + 100,
            duration=3000,
            tags={"span.kind": "client", "ip": 0x7F000001, "error": True},
        ),
        span(0x1, 0xC, parent=0xB, service="db", operation="select", start=T0 + 200, duration=1000),
        # An orphan: its parent never arrived.
        span(0x1, 0xF, parent=0xDEAD, service="db", operation="late", start=T0 + 300, duration=10),
        span(
            TRACE_128,
            0xE,
            service="frontend",
            operation="GET /health",
            start=T0 + 20_000,
            duration=70,
            tags={"span.kind": "server", "http.status_code": 500},
        ),
    ]
    spans += [
        span(
            0x2,
            0x100 + i,
            parent=0x100 if i else 0,
            service="batch",
            operation=f"step-{i}",
            start=T0 + 30_000 + i,
        )
        for i in range(BIG)
    ]
    return canonical(spans)


@pytest.fixture
async def seeded(make_app: Callable[..., Any], span: Callable[..., Any]) -> AsyncIterator[tuple[App, Client]]:
    app: App = await make_app()
    assert app.storage is not None
    await app.storage.writer.write_spans(seed_spans(span))
    async with grpc.aio.insecure_channel(app.listeners()["query gRPC server"]) as channel:
        yield app, Client(channel)


async def stored(app: App, trace_id: int) -> list[Span]:
    assert app.storage is not None
    trace = await app.storage.reader.get_trace(trace_id)
    assert trace is not None
    return by_id(trace.spans)


def chunk_spans(chunks: Sequence[v2.SpansResponseChunk]) -> list[Span]:
    spans: list[Span] = []
    for c in chunks:
        assert 0 < len(c.spans) <= 10
        assert all(s.HasField("process") for s in c.spans)  # each span carries its process
        spans += batch_pb_to_spans(model_pb2.Batch(spans=c.spans))
    return spans


def otlp_spans(data: Sequence[Any]) -> list[Span]:
    return [s for td in data for s in decode_export_request(td.SerializeToString()).spans]


# --- api_v2 ------------------------------------------------------------------------------------


async def test_v2_get_trace_streams_stored_spans_in_chunks_of_ten(seeded: tuple[App, Client]) -> None:
    app, c = seeded
    chunks = await c.v2_get_trace(v2.GetTraceRequest(trace_id=(2).to_bytes(16, "big"), raw_traces=True))
    assert [len(ch.spans) for ch in chunks] == [10, 10, 3]
    assert by_id(chunk_spans(chunks)) == await stored(app, 2)

    # 8-byte ids are the low half, as in Jaeger; a 128-bit id finds its trace.
    chunks = await c.v2_get_trace(v2.GetTraceRequest(trace_id=(1).to_bytes(8, "big"), raw_traces=True))
    assert by_id(chunk_spans(chunks)) == await stored(app, 1)
    hinted = v2.GetTraceRequest(
        trace_id=TRACE_128.to_bytes(16, "big"), start_time=ts(T0), end_time=ts(T0 + 60_000)
    )
    assert [s.span_id for s in chunk_spans(await c.v2_get_trace(hinted))] == [0xE]


async def test_v2_adjusters_run_unless_raw(seeded: tuple[App, Client]) -> None:
    _, c = seeded
    tid = (1).to_bytes(16, "big")

    def ip(spans: list[Span]) -> object:
        tag = next(s for s in spans if s.span_id == 0xB).tag("ip")
        return tag.value if tag else None

    assert ip(chunk_spans(await c.v2_get_trace(v2.GetTraceRequest(trace_id=tid)))) == "127.0.0.1"
    assert (
        ip(chunk_spans(await c.v2_get_trace(v2.GetTraceRequest(trace_id=tid, raw_traces=True)))) == 0x7F000001
    )


async def test_v2_find_traces(seeded: tuple[App, Client]) -> None:
    app, c = seeded

    async def found(**query: Any) -> dict[int, list[Span]]:
        chunks = await c.v2_find_traces(v2.FindTracesRequest(query=v2.TraceQueryParameters(**query)))
        traces: dict[int, list[Span]] = {}
        for s in chunk_spans(chunks):
            traces.setdefault(s.trace_id, []).append(s)
        return {tid: by_id(spans) for tid, spans in traces.items()}

    everything = await found(**window(raw_traces=True))
    assert everything == {tid: await stored(app, tid) for tid in (1, 2, TRACE_128)}
    assert set(await found(**window(service_name="frontend"))) == {1, TRACE_128}
    assert set(await found(**window(service_name="frontend", operation_name="GET /health"))) == {TRACE_128}
    assert set(await found(**window(tags={"http.status_code": "200"}))) == {1}
    assert set(await found(**window(service_name="frontend", duration_min=Duration(nanos=1_000_000)))) == {1}
    assert set(await found(**window(service_name="frontend", duration_max=Duration(nanos=70_000)))) == {
        TRACE_128
    }
    assert len(await found(**window(search_depth=1))) == 1
    # No times: the store's whole span of time (the bounds are optional in api_v2).
    assert set(await found(service_name="db")) == {1}
    # Bounds are inclusive and exact at µs: a start one ns after the span's excludes it.
    select = {"service_name": "db", "operation_name": "select"}
    assert set(await found(**select, start_time_min=ts(T0 + 200))) == {1}
    assert await found(**select, start_time_min=ts(T0 + 200, extra_ns=1)) == {}
    assert await found(**window(service_name="nobody")) == {}


async def test_v2_services_operations_dependencies(seeded: tuple[App, Client]) -> None:
    _, c = seeded
    assert list((await c.v2_services()).services) == ["backend", "batch", "db", "frontend"]

    ops = await c.v2_operations(v2.GetOperationsRequest(service="frontend"))
    assert sorted((o.name, o.span_kind) for o in ops.operations) == [
        ("GET /", "server"),
        ("GET /health", "server"),
    ]
    assert sorted(ops.operationNames) == ["GET /", "GET /health"]
    ops = await c.v2_operations(v2.GetOperationsRequest(service="backend", span_kind="server"))
    assert list(ops.operations) == [] and list(ops.operationNames) == []
    ops = await c.v2_operations(v2.GetOperationsRequest(service="backend", span_kind="client"))
    assert [(o.name, o.span_kind) for o in ops.operations] == [("query", "client")]

    deps = await c.v2_dependencies(
        v2.GetDependenciesRequest(start_time=ts(T0 - 1000), end_time=ts(T0 + 60_000))
    )
    assert sorted((d.parent, d.child, d.call_count) for d in deps.dependencies) == [
        ("backend", "db", 1),
        ("frontend", "backend", 1),
    ]
    # A window before every span holds no links.
    empty = await c.v2_dependencies(
        v2.GetDependenciesRequest(start_time=ts(T0 - 9000), end_time=ts(T0 - 1000))
    )
    assert list(empty.dependencies) == []


async def test_v2_errors_and_the_server_keeps_serving(seeded: tuple[App, Client]) -> None:
    _, c = seeded
    uninitialized = "uninitialized TraceID is not allowed"
    assert await refused(INVALID, c.v2_get_trace(v2.GetTraceRequest())) == uninitialized
    assert await refused(INVALID, c.v2_get_trace(v2.GetTraceRequest(trace_id=bytes(16)))) == uninitialized
    assert "5" in await refused(INVALID, c.v2_get_trace(v2.GetTraceRequest(trace_id=b"\x01" * 5)))
    not_found = v2.GetTraceRequest(trace_id=(0x99).to_bytes(16, "big"))
    assert await refused(grpc.StatusCode.NOT_FOUND, c.v2_get_trace(not_found)) == "trace not found"
    bad_hint = v2.GetTraceRequest(trace_id=(1).to_bytes(16, "big"), start_time=Timestamp(nanos=-1))
    assert "start_time" in await refused(INVALID, c.v2_get_trace(bad_hint))

    assert await refused(INVALID, c.v2_find_traces(v2.FindTracesRequest())) == "missing query"
    for query, field in [
        (v2.TraceQueryParameters(start_time_min=Timestamp(nanos=1_000_000_000)), "start_time_min"),
        (v2.TraceQueryParameters(start_time_max=Timestamp(seconds=1 << 40)), "start_time_max"),
        (v2.TraceQueryParameters(duration_min=Duration(seconds=-1)), "duration_min"),
        (v2.TraceQueryParameters(duration_max=Duration(seconds=1, nanos=-1)), "duration_max"),
        (
            v2.TraceQueryParameters(duration_min=Duration(seconds=2), duration_max=Duration(seconds=1)),
            "duration_max",
        ),
        (v2.TraceQueryParameters(start_time_min=ts(T0), start_time_max=ts(T0 - 1)), "start_time_max"),
    ]:
        assert field in await refused(INVALID, c.v2_find_traces(v2.FindTracesRequest(query=query)))

    archive = v2.ArchiveTraceRequest(trace_id=(1).to_bytes(16, "big"))
    assert "archive" in await refused(grpc.StatusCode.UNIMPLEMENTED, c.v2_archive(archive))
    assert await refused(INVALID, c.v2_archive(v2.ArchiveTraceRequest())) == uninitialized

    no_end = v2.GetDependenciesRequest(start_time=ts(T0))
    assert "EndTime" in await refused(INVALID, c.v2_dependencies(no_end))
    reversed_window = v2.GetDependenciesRequest(start_time=ts(T0), end_time=ts(T0 - 1))
    assert "end_time" in await refused(INVALID, c.v2_dependencies(reversed_window))

    # Bytes that are no protobuf message at all, to every method.
    for method, stream in [("GetTrace", True), ("FindTraces", True), ("ArchiveTrace", False)]:
        await refused(INVALID, c.raw(API_V2_QUERY_SERVICE, method, b"\xff\xff\xff", stream=stream))
    for method in ("GetServices", "GetOperations", "GetDependencies"):
        await refused(INVALID, c.raw(API_V2_QUERY_SERVICE, method, b"\x0a\x05ab", stream=False))

    assert "frontend" in (await c.v2_services()).services


# --- api_v3 ------------------------------------------------------------------------------------


async def test_v3_get_trace_is_otlp_of_the_stored_spans(seeded: tuple[App, Client]) -> None:
    app, c = seeded
    for tid, hex_id in [(1, "1"), (1, "0000000000000001"), (2, "2"), (TRACE_128, f"{TRACE_128:032x}")]:
        data = await c.v3_get_trace(v3.GetTraceRequest(trace_id=hex_id, raw_traces=True))
        assert len(data) == 1  # one TracesData per trace
        assert by_id(otlp_spans(data)) == await stored(app, tid)
    # Upper-case hex as Jaeger's parser takes it.
    data = await c.v3_get_trace(v3.GetTraceRequest(trace_id=f"{TRACE_128:032X}"))
    assert [s.span_id for s in otlp_spans(data)] == [0xE]
    # What the OTLP protos say: ids, names and the service as a resource attribute.
    rs = data[0].resource_spans[0]
    assert {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"] == "frontend"
    span = rs.scope_spans[0].spans[0]
    assert span.trace_id == TRACE_128.to_bytes(16, "big") and span.name == "GET /health"
    assert span.kind == trace_pb2.Span.SPAN_KIND_SERVER


async def test_v3_find_traces(seeded: tuple[App, Client]) -> None:
    app, c = seeded

    async def found(**query: Any) -> dict[int, list[Span]]:
        data = await c.v3_find_traces(v3.FindTracesRequest(query=v3.TraceQueryParameters(**query)))
        traces: dict[int, list[Span]] = {}
        for td in data:
            spans = otlp_spans([td])
            assert len({s.trace_id for s in spans}) == 1  # one TracesData per trace
            traces[spans[0].trace_id] = by_id(spans)
        return traces

    assert await found(**window(raw_traces=True)) == {
        tid: await stored(app, tid) for tid in (1, 2, TRACE_128)
    }
    assert set(await found(**window(service_name="frontend"))) == {1, TRACE_128}
    assert set(await found(**window(service_name="frontend", operation_name="GET /"))) == {1}
    # Attributes match span and resource attributes.
    assert set(await found(**window(attributes={"http.status_code": "500"}))) == {TRACE_128}
    assert set(await found(**window(attributes={"hostname": "h1"}))) == {1}
    assert set(await found(**window(duration_min=Duration(nanos=2_000_000)))) == {1}
    assert len(await found(**window(search_depth=2))) == 2
    assert await found(**window(service_name="nobody")) == {}


async def test_v3_search_depth_defaults_to_100(
    make_app: Callable[..., Any], span: Callable[..., Any]
) -> None:
    app: App = await make_app()
    assert app.storage is not None
    await app.storage.writer.write_spans([span(0x1000 + i, 1, start=T0 + i) for i in range(105)])
    async with grpc.aio.insecure_channel(app.listeners()["query gRPC server"]) as channel:
        c = Client(channel)
        assert (
            len(await c.v3_find_traces(v3.FindTracesRequest(query=v3.TraceQueryParameters(**window()))))
            == 100
        )
        chunks = await c.v2_find_traces(v2.FindTracesRequest(query=v2.TraceQueryParameters(**window())))
        assert len({s.trace_id for s in chunk_spans(chunks)}) == 100
        query = v3.TraceQueryParameters(**window(search_depth=103))
        assert len(await c.v3_find_traces(v3.FindTracesRequest(query=query))) == 103


async def test_v3_services_operations_dependencies(seeded: tuple[App, Client]) -> None:
    _, c = seeded
    assert list((await c.v3_services()).services) == ["backend", "batch", "db", "frontend"]
    ops = await c.v3_operations(v3.GetOperationsRequest(service="frontend"))
    assert sorted((o.name, o.span_kind) for o in ops.operations) == [
        ("GET /", "server"),
        ("GET /health", "server"),
    ]
    ops = await c.v3_operations(v3.GetOperationsRequest(service="backend", span_kind="client"))
    assert [(o.name, o.span_kind) for o in ops.operations] == [("query", "client")]
    deps = await c.v3_dependencies(
        v3.GetDependenciesRequest(start_time=ts(T0 - 1000), end_time=ts(T0 + 60_000))
    )
    assert sorted((d.parent, d.child, d.call_count) for d in deps.dependencies) == [
        ("backend", "db", 1),
        ("frontend", "backend", 1),
    ]


async def test_v3_find_trace_summaries(seeded: tuple[App, Client]) -> None:
    _, c = seeded

    async def summaries(**query: Any) -> list[v3.TraceSummary]:
        request = v3.FindTraceSummariesRequest(query=v3.TraceQueryParameters(**query))
        out: list[v3.TraceSummary] = []
        for response in await c.v3_summaries(request):
            out += response.summaries
        return out

    (summary,) = await summaries(**window(service_name="db"))
    assert summary == v3.TraceSummary(
        trace_id="00000000000000000000000000000001",
        root_service_name="frontend",
        root_operation_name="GET /",
        min_start_time_unix_nano=T0 * 1000,
        max_end_time_unix_nano=(T0 + 5000) * 1000,
        span_count=4,
        error_span_count=1,
        orphan_span_count=1,
        services=[
            v3.ServiceSummary(name="backend", span_count=1, error_span_count=1),
            v3.ServiceSummary(name="db", span_count=2, error_span_count=0),
            v3.ServiceSummary(name="frontend", span_count=1, error_span_count=0),
        ],
    )
    found = await summaries(**window())
    assert sorted(s.trace_id for s in found) == sorted(f"{t:032x}" for t in (1, 2, TRACE_128))
    big = next(s for s in found if s.trace_id == f"{2:032x}")
    assert (big.span_count, big.root_operation_name, big.orphan_span_count) == (BIG, "step-0", 0)
    assert await summaries(**window(service_name="nobody")) == []

    summaries_request = v3.FindTraceSummariesRequest
    assert await refused(INVALID, c.v3_summaries(summaries_request())) == "missing query"
    no_min = summaries_request(query=v3.TraceQueryParameters(start_time_max=ts(T0)))
    assert await refused(INVALID, c.v3_summaries(no_min)) == "start time min and max are required parameters"


async def test_v3_errors_and_the_server_keeps_serving(seeded: tuple[App, Client]) -> None:
    _, c = seeded
    for bad in ["", "xyz", "1" * 33, "-1"]:
        message = await refused(INVALID, c.v3_get_trace(v3.GetTraceRequest(trace_id=bad)))
        assert message.startswith("malform trace ID: "), message
    missing = v3.GetTraceRequest(trace_id="99")
    assert await refused(grpc.StatusCode.NOT_FOUND, c.v3_get_trace(missing)) == "trace not found"

    assert await refused(INVALID, c.v3_find_traces(v3.FindTracesRequest())) == "missing query"
    required = "start time min and max are required parameters"
    no_max = v3.TraceQueryParameters(start_time_min=ts(T0))
    assert await refused(INVALID, c.v3_find_traces(v3.FindTracesRequest(query=no_max))) == required
    for query, field in [
        (v3.TraceQueryParameters(**window(start_time_min=Timestamp(nanos=-1))), "start_time_min"),
        (v3.TraceQueryParameters(**window(start_time_max=ts(T0 - 2_000_000))), "start_time_max"),
        (v3.TraceQueryParameters(**window(duration_min=Duration(seconds=-5))), "duration_min"),
        (v3.TraceQueryParameters(**window(duration_max=Duration(seconds=1 << 50))), "duration_max"),
    ]:
        assert field in await refused(INVALID, c.v3_find_traces(v3.FindTracesRequest(query=query)))

    # Jaeger's experimental structured filter (field 10) is refused, not ignored.
    with_filter = v3.TraceQueryParameters(**window()).SerializeToString() + b"\x52\x00"
    request = b"\x0a" + bytes([len(with_filter)]) + with_filter
    message = await refused(INVALID, c.raw(API_V3_QUERY_SERVICE, "FindTraces", request, stream=True))
    assert message == "the structured query filter is disabled"

    no_start = v3.GetDependenciesRequest(end_time=ts(T0))
    assert await refused(INVALID, c.v3_dependencies(no_start)) == "start_time is required"
    no_end = v3.GetDependenciesRequest(start_time=ts(T0))
    assert await refused(INVALID, c.v3_dependencies(no_end)) == "end_time is required"
    same = v3.GetDependenciesRequest(start_time=ts(T0), end_time=ts(T0))
    assert await refused(INVALID, c.v3_dependencies(same)) == "end_time must be after start_time"

    for method, stream in [
        ("GetTrace", True),
        ("FindTraces", True),
        ("FindTraceSummaries", True),
        ("GetOperations", False),
    ]:
        await refused(INVALID, c.raw(API_V3_QUERY_SERVICE, method, b"\xff\xff\xff", stream=stream))

    assert "frontend" in (await c.v3_services()).services


# --- storage failures --------------------------------------------------------------------------


class _BrokenReader(SpanReader, DependencyReader):
    """A backend whose every read fails, as an unreachable Elasticsearch does."""

    async def get_trace(self, trace_id: int) -> Trace | None:
        raise StorageError("backend down")

    async def get_services(self) -> list[str]:
        raise StorageError("backend down")

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        raise StorageError("backend down")

    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        raise StorageError("backend down")

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        raise StorageError("backend down")


async def test_storage_errors_are_internal() -> None:
    broken = _BrokenReader()
    server = GrpcServer(
        "query gRPC server",
        query_grpc_handlers(QueryService(broken, broken)),
        HostPort("127.0.0.1", 0),
        QUERY_GRPC_MAX_MESSAGE_SIZE,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            c = Client(channel)
            internal = grpc.StatusCode.INTERNAL
            tid = (1).to_bytes(16, "big")
            calls = [
                (c.v2_get_trace(v2.GetTraceRequest(trace_id=tid)), "failed to fetch spans from the backend"),
                (
                    c.v2_find_traces(v2.FindTracesRequest(query=v2.TraceQueryParameters())),
                    "failed when searching for traces",
                ),
                (c.v2_services(), "failed to fetch services"),
                (c.v2_operations(v2.GetOperationsRequest(service="s")), "failed to fetch operations"),
                (
                    c.v2_dependencies(v2.GetDependenciesRequest(start_time=ts(T0), end_time=ts(T0 + 1))),
                    "failed to fetch dependencies",
                ),
                (c.v3_get_trace(v3.GetTraceRequest(trace_id="1")), "failed to fetch spans from the backend"),
                (
                    c.v3_find_traces(v3.FindTracesRequest(query=v3.TraceQueryParameters(**window()))),
                    "failed when searching for traces",
                ),
                (
                    c.v3_summaries(v3.FindTraceSummariesRequest(query=v3.TraceQueryParameters(**window()))),
                    "failed when searching for traces",
                ),
                (c.v3_services(), "failed to fetch services"),
                (c.v3_operations(v3.GetOperationsRequest(service="s")), "failed to fetch operations"),
                (
                    c.v3_dependencies(v3.GetDependenciesRequest(start_time=ts(T0), end_time=ts(T0 + 1))),
                    "failed to fetch dependencies",
                ),
            ]
            for aw, prefix in calls:
                assert await refused(internal, aw) == f"{prefix}: backend down"
    finally:
        await server.stop()
