"""The query service over gRPC (port 16685): `jaeger.api_v2.QueryService` and
`jaeger.api_v3.QueryService`, as Jaeger's query serves them to gRPC clients and Grafana.

Raw-bytes handlers, as the collector's, so a request that does not parse gets INVALID_ARGUMENT
with protobuf's reason instead of grpc's generic answer. Messages are ours
(`pyjaeger/idl/api_v2/query.proto`, `pyjaeger/idl/api_v3/query_service.proto`); spans go out
through the codecs: api_v2 model protos (`codecs.api_v2`) and OTLP `TracesData`
(`codecs.otlp_encode`: an ExportTraceServiceRequest has TracesData's one field, so its bytes are
a TracesData).

Jaeger's rules, and where we are stricter:
- api_v2 streams each trace's spans in chunks of at most 10 spans; api_v3 sends one TracesData
  per trace, and FindTraceSummaries one response per trace (`query.summaries`' rules). A trace
  that does not exist is NOT_FOUND `trace not found`.
- A zero (or empty) api_v2 trace id is INVALID_ARGUMENT `uninitialized TraceID is not allowed`;
  an api_v3 id that is not 1 to 32 hex digits is INVALID_ARGUMENT `malform trace ID: ...`
  (Jaeger answers UNKNOWN there).
- FindTraces without a query is `missing query`; api_v3 also needs both start times. An unset
  or non-positive search_depth means 100, in both APIs (Jaeger passes 0 through in api_v2, which
  some of its stores refuse and ours would read as "no limit").
- Times and durations must be valid protobuf values (nanos in range, seconds within years
  1..9999 or ±10,000 years), durations not negative, and ranges not reversed; every such fault is
  INVALID_ARGUMENT naming the field. As in Jaeger, a zero duration means "no bound". Stored times
  are whole µs: a lower bound rounds up and an upper one down, so bounds stay exact.
- api_v3's experimental `filter` (field 10) is refused as Jaeger refuses it with its feature
  gate off: INVALID_ARGUMENT `the structured query filter is disabled`.
- Storage failures are INTERNAL with Jaeger's api_v2 texts (`failed to fetch services: ...`),
  in api_v3 too (where Jaeger passes the error through as UNKNOWN).
- ArchiveTrace is UNIMPLEMENTED: no pyjaeger backend has archive storage.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc
from google.protobuf import unknown_fields
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from pyjaeger.codecs.api_v2 import spans_to_batch_pb
from pyjaeger.codecs.errors import DecodeError, parse_protobuf
from pyjaeger.codecs.limits import MAX_TIME_US, MIN_TIME_US
from pyjaeger.codecs.otlp_encode import encode_export_request
from pyjaeger.idl.api_v2 import query_pb2 as v2
from pyjaeger.idl.api_v3 import query_service_pb2 as v3
from pyjaeger.model import Span, Trace
from pyjaeger.query.params import ParamError, parse_trace_id
from pyjaeger.query.service import QueryService
from pyjaeger.query.summaries import TraceSummary
from pyjaeger.storage.base import DEFAULT_NUM_TRACES, TraceQuery

__all__ = [
    "query_grpc_handlers",
    "API_V2_QUERY_SERVICE",
    "API_V3_QUERY_SERVICE",
    "MAX_SPANS_PER_CHUNK",
    "QUERY_GRPC_MAX_MESSAGE_SIZE",
]

log = logging.getLogger(__name__)

API_V2_QUERY_SERVICE = "jaeger.api_v2.QueryService"
API_V3_QUERY_SERVICE = "jaeger.api_v3.QueryService"
MAX_SPANS_PER_CHUNK = 10  # Jaeger's maxSpanCountInChunk
# Jaeger's query gRPC server keeps grpc's default receive limit; queries are small.
QUERY_GRPC_MAX_MESSAGE_SIZE = 4 * 1024 * 1024

_US = 1_000_000
_NS_PER_US = 1000
# Protobuf's Timestamp range, years 1 to 9999: the model's (`codecs.limits`) in whole seconds.
_MIN_TIMESTAMP_S = MIN_TIME_US // _US
_MAX_TIMESTAMP_S = MAX_TIME_US // _US
_MAX_DURATION_S = 315_576_000_000  # 10,000 years
_FILTER_FIELD = 10  # api_v3 TraceQueryParameters.filter

T = TypeVar("T")
M = TypeVar("M", bound=Message)


class _Refusal(Exception):
    """Ends the call with `code` and `message`."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bad(message: str) -> _Refusal:
    return _Refusal(grpc.StatusCode.INVALID_ARGUMENT, message)


def _parse(message: M, data: bytes) -> M:
    try:
        return parse_protobuf(message, data)
    except DecodeError as e:
        raise _bad(str(e)) from None


async def _read(what: str, aw: Awaitable[T]) -> T:
    """A storage read; its failure becomes INTERNAL `what: reason`."""
    try:
        return await aw
    except Exception as e:
        log.exception("query gRPC: %s", what)
        raise _Refusal(grpc.StatusCode.INTERNAL, f"{what}: {e or type(e).__name__}") from None


# --- Request fields ----------------------------------------------------------------------------


def _time_ns(ts: Timestamp, name: str) -> int:
    if not 0 <= ts.nanos < 1_000_000_000:
        raise _bad(f"invalid {name}: nanos {ts.nanos} out of range [0, 999999999]")
    if not _MIN_TIMESTAMP_S <= ts.seconds <= _MAX_TIMESTAMP_S:
        raise _bad(f"invalid {name}: seconds {ts.seconds} out of range (years 1 to 9999)")
    return ts.seconds * 1_000_000_000 + ts.nanos


def _duration_ns(d: Duration, name: str) -> int:
    s, n = d.seconds, d.nanos
    if not -1_000_000_000 < n < 1_000_000_000 or (s > 0 and n < 0) or (s < 0 and n > 0):
        raise _bad(f"invalid {name}: nanos {n} out of range or of another sign than seconds {s}")
    if not -_MAX_DURATION_S <= s <= _MAX_DURATION_S:
        raise _bad(f"invalid {name}: seconds {s} out of range")
    ns = s * 1_000_000_000 + n
    if ns < 0:
        raise _bad(f"invalid {name}: must not be negative")
    return ns


def _ceil_us(ns: int) -> int:
    return -(-ns // _NS_PER_US)


def _hints(req: Any) -> tuple[int | None, int | None]:
    """A GetTraceRequest's optional start_time and end_time as µs, widened to whole µs."""
    start = _time_ns(req.start_time, "start_time") // _NS_PER_US if req.HasField("start_time") else None
    end = _ceil_us(_time_ns(req.end_time, "end_time")) if req.HasField("end_time") else None
    return start, end


def _trace_query(q: Any, tags: Any, *, times_required: bool) -> TraceQuery:
    """api_v2 or api_v3 TraceQueryParameters (they share fields 1..9) → a TraceQuery."""
    has_min, has_max = q.HasField("start_time_min"), q.HasField("start_time_max")
    if times_required and not (has_min and has_max):
        raise _bad("start time min and max are required parameters")
    query = TraceQuery(
        service_name=q.service_name,
        operation_name=q.operation_name,
        tags=dict(tags),
        num_traces=q.search_depth if q.search_depth > 0 else DEFAULT_NUM_TRACES,
    )
    min_ns = max_ns = None
    if has_min:
        min_ns = _time_ns(q.start_time_min, "start_time_min")
        query.start_time_min = _ceil_us(min_ns)
    if has_max:
        max_ns = _time_ns(q.start_time_max, "start_time_max")
        query.start_time_max = max_ns // _NS_PER_US
    if min_ns is not None and max_ns is not None and min_ns >= max_ns:
        raise _bad("start_time_min must be before start_time_max")
    # Zero is "no bound", as Jaeger's stores read an unset duration.
    dmin = _duration_ns(q.duration_min, "duration_min") if q.HasField("duration_min") else 0
    dmax = _duration_ns(q.duration_max, "duration_max") if q.HasField("duration_max") else 0
    if dmin:
        query.duration_min = _ceil_us(dmin)
    if dmax:
        if dmax < dmin:
            raise _bad("duration_max must not be less than duration_min")
        query.duration_max = dmax // _NS_PER_US
    return query


def _v2_trace_id(data: bytes) -> int:
    if len(data) not in (0, 8, 16):
        raise _bad(f"trace_id: expected 16 or 8 bytes, got {len(data)}")
    trace_id = int.from_bytes(data, "big")
    if trace_id == 0:
        raise _bad("uninitialized TraceID is not allowed")
    return trace_id


def _dependency_window(req: Any, *, strictly_after: bool) -> tuple[int, int]:
    """(end, lookback) in µs from a request's start_time and end_time, both present."""
    start_ns = _time_ns(req.start_time, "start_time")
    end_ns = _time_ns(req.end_time, "end_time")
    if end_ns < start_ns or (strictly_after and end_ns == start_ns):
        raise _bad("end_time must be after start_time")
    # Links of spans in (start, end]: over whole µs, after floor(start) and up to floor(end).
    end = end_ns // _NS_PER_US
    return end, end - start_ns // _NS_PER_US


# --- Responses ---------------------------------------------------------------------------------


def _span_chunks(spans: Sequence[Span]) -> Iterator[bytes]:
    """SpansResponseChunk bytes, every span carrying its process as Jaeger sends them."""
    for i in range(0, len(spans), MAX_SPANS_PER_CHUNK):
        batch = spans_to_batch_pb(spans[i : i + MAX_SPANS_PER_CHUNK])
        for s in batch.spans:
            if not s.HasField("process"):
                s.process.CopyFrom(batch.process)
        chunk = v2.SpansResponseChunk()
        chunk.spans.extend(batch.spans)
        yield chunk.SerializeToString()


def _traces_data(trace: Trace) -> bytes:
    return encode_export_request(trace.spans)


def _summary_response(s: TraceSummary) -> bytes:
    return v3.FindTraceSummariesResponse(
        summaries=[
            v3.TraceSummary(
                trace_id=s.trace_id_hex,
                root_service_name=s.root_service_name,
                root_operation_name=s.root_operation_name,
                min_start_time_unix_nano=s.min_start_time_unix_nano,
                max_end_time_unix_nano=s.max_end_time_unix_nano,
                span_count=s.span_count,
                error_span_count=s.error_span_count,
                orphan_span_count=s.orphan_span_count,
                services=[
                    v3.ServiceSummary(
                        name=x.name, span_count=x.span_count, error_span_count=x.error_span_count
                    )
                    for x in s.services
                ],
            )
        ]
    ).SerializeToString()


# --- Handlers ----------------------------------------------------------------------------------

Unary = Callable[[bytes], Awaitable[bytes]]
Streaming = Callable[[bytes], AsyncIterator[bytes]]


def _unary(fn: Unary) -> Any:
    async def handle(request: bytes, context: Any) -> bytes:
        try:
            return await fn(request)
        except _Refusal as e:
            await context.abort(e.code, e.message)
        except Exception:
            log.exception("query gRPC call failed")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the query service's log")
        raise AssertionError("unreachable: abort raises")

    return grpc.unary_unary_rpc_method_handler(handle)


def _streaming(fn: Streaming) -> Any:
    async def handle(request: bytes, context: Any) -> AsyncIterator[bytes]:
        try:
            async for message in fn(request):
                yield message
        except _Refusal as e:
            await context.abort(e.code, e.message)
        except Exception:
            log.exception("query gRPC call failed")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the query service's log")

    return grpc.unary_stream_rpc_method_handler(handle)


def query_grpc_handlers(service: QueryService) -> list[Any]:
    """Generic handlers for both query services, for a `GrpcServer`."""
    return [_api_v2_handler(service), _api_v3_handler(service)]


def _api_v2_handler(service: QueryService) -> Any:
    async def get_trace(data: bytes) -> AsyncIterator[bytes]:
        req = _parse(v2.GetTraceRequest(), data)
        trace_id = _v2_trace_id(req.trace_id)
        start, end = _hints(req)
        trace = await _read(
            "failed to fetch spans from the backend", service.get_trace(trace_id, req.raw_traces, start, end)
        )
        if trace is None:
            raise _Refusal(grpc.StatusCode.NOT_FOUND, "trace not found")
        for chunk in _span_chunks(trace.spans):
            yield chunk

    async def archive_trace(data: bytes) -> bytes:
        req = _parse(v2.ArchiveTraceRequest(), data)
        _v2_trace_id(req.trace_id)
        raise _Refusal(
            grpc.StatusCode.UNIMPLEMENTED,
            "archive span storage was not configured: no pyjaeger storage backend has an archive",
        )

    async def find_traces(data: bytes) -> AsyncIterator[bytes]:
        req = _parse(v2.FindTracesRequest(), data)
        if not req.HasField("query"):
            raise _bad("missing query")
        q = req.query
        query = _trace_query(q, q.tags, times_required=False)
        traces = await _read("failed when searching for traces", service.find_traces(query, q.raw_traces))
        for trace in traces:
            for chunk in _span_chunks(trace.spans):
                yield chunk

    async def get_services(data: bytes) -> bytes:
        _parse(v2.GetServicesRequest(), data)
        names = await _read("failed to fetch services", service.get_services())
        return v2.GetServicesResponse(services=names).SerializeToString()

    async def get_operations(data: bytes) -> bytes:
        req = _parse(v2.GetOperationsRequest(), data)
        ops = await _read("failed to fetch operations", service.get_operations(req.service, req.span_kind))
        return v2.GetOperationsResponse(
            operationNames=list(dict.fromkeys(op.name for op in ops)),
            operations=[v2.Operation(name=op.name, span_kind=op.span_kind) for op in ops],
        ).SerializeToString()

    async def get_dependencies(data: bytes) -> bytes:
        req = _parse(v2.GetDependenciesRequest(), data)
        if not (req.HasField("start_time") and req.HasField("end_time")):
            raise _bad("StartTime and EndTime must be initialized.")
        end, lookback = _dependency_window(req, strictly_after=False)
        links = await _read("failed to fetch dependencies", service.get_dependencies(end, lookback))
        resp = v2.GetDependenciesResponse()
        for d in links:
            resp.dependencies.add(parent=d.parent, child=d.child, call_count=d.call_count, source=d.source)
        return resp.SerializeToString()

    return grpc.method_handlers_generic_handler(
        API_V2_QUERY_SERVICE,
        {
            "GetTrace": _streaming(get_trace),
            "ArchiveTrace": _unary(archive_trace),
            "FindTraces": _streaming(find_traces),
            "GetServices": _unary(get_services),
            "GetOperations": _unary(get_operations),
            "GetDependencies": _unary(get_dependencies),
        },
    )


def _api_v3_handler(service: QueryService) -> Any:
    def search(query_message: Message, has_query: bool) -> tuple[TraceQuery, bool]:
        if not has_query:
            raise _bad("missing query")
        q: Any = query_message
        unknown = unknown_fields.UnknownFieldSet(q)
        if any(unknown[i].field_number == _FILTER_FIELD for i in range(len(unknown))):
            raise _bad("the structured query filter is disabled")
        return _trace_query(q, q.attributes, times_required=True), q.raw_traces

    async def get_trace(data: bytes) -> AsyncIterator[bytes]:
        req = _parse(v3.GetTraceRequest(), data)
        try:
            trace_id = parse_trace_id(req.trace_id)
        except ParamError as e:
            raise _bad(f"malform trace ID: {e}") from None
        start, end = _hints(req)
        trace = await _read(
            "failed to fetch spans from the backend", service.get_trace(trace_id, req.raw_traces, start, end)
        )
        if trace is None:
            raise _Refusal(grpc.StatusCode.NOT_FOUND, "trace not found")
        yield _traces_data(trace)

    async def find_traces(data: bytes) -> AsyncIterator[bytes]:
        req = _parse(v3.FindTracesRequest(), data)
        query, raw = search(req.query, req.HasField("query"))
        traces = await _read("failed when searching for traces", service.find_traces(query, raw))
        for trace in traces:
            yield _traces_data(trace)

    async def find_trace_summaries(data: bytes) -> AsyncIterator[bytes]:
        req = _parse(v3.FindTraceSummariesRequest(), data)
        query, _ = search(req.query, req.HasField("query"))
        # Summed up from adjusted traces whatever raw_traces says, as Jaeger does.
        summaries = await _read("failed when searching for traces", service.find_trace_summaries(query))
        for summary in summaries:
            yield _summary_response(summary)

    async def get_services(data: bytes) -> bytes:
        _parse(v3.GetServicesRequest(), data)
        names = await _read("failed to fetch services", service.get_services())
        return v3.GetServicesResponse(services=names).SerializeToString()

    async def get_operations(data: bytes) -> bytes:
        req = _parse(v3.GetOperationsRequest(), data)
        ops = await _read("failed to fetch operations", service.get_operations(req.service, req.span_kind))
        return v3.GetOperationsResponse(
            operations=[v3.Operation(name=op.name, span_kind=op.span_kind) for op in ops]
        ).SerializeToString()

    async def get_dependencies(data: bytes) -> bytes:
        req = _parse(v3.GetDependenciesRequest(), data)
        if not req.HasField("start_time"):
            raise _bad("start_time is required")
        if not req.HasField("end_time"):
            raise _bad("end_time is required")
        end, lookback = _dependency_window(req, strictly_after=True)
        links = await _read("failed to fetch dependencies", service.get_dependencies(end, lookback))
        return v3.DependenciesResponse(
            dependencies=[
                v3.Dependency(parent=d.parent, child=d.child, call_count=d.call_count) for d in links
            ]
        ).SerializeToString()

    return grpc.method_handlers_generic_handler(
        API_V3_QUERY_SERVICE,
        {
            "GetTrace": _streaming(get_trace),
            "FindTraces": _streaming(find_traces),
            "GetServices": _unary(get_services),
            "GetOperations": _unary(get_operations),
            "GetDependencies": _unary(get_dependencies),
            "FindTraceSummaries": _streaming(find_trace_summaries),
        },
    )
