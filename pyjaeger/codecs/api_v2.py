"""Jaeger api_v2 protobuf ⇄ model: gRPC PostSpans (collector port 14250; the agent's forwarding).

The SamplingManager messages are in `api_v2_sampling`.

Both directions are ingest paths (the collector decodes every PostSpans call; the agent encodes
every span it forwards), so the span loops are written for speed: local aliases, one loop nest.

Decoding follows Jaeger's rules:
- trace ids are 16 bytes big-endian (high, then low); 8 bytes (low only) are accepted too. Span
  ids are exactly 8 bytes. Any other length fails the whole request with a `DecodeError` naming
  the span and field, as Jaeger's unmarshaller does. So does a missing (empty) id, which Jaeger
  would accept as zero: a span without ids cannot be found or joined to its trace.
- Timestamps and durations become integer µs, rounded down.
- A span's own `process` wins; a span without one gets `batch.process`. Spans that share a process
  share one `Process` object (spans carrying equal processes are deduplicated by their bytes).
  With neither, the span gets `Process(NULL_PROCESS_SERVICE_NAME)`: the name Jaeger's collector
  gives a span without a process. It is set here because the model has no "no process" value for
  the collector's sanitizer to see later.
- A tag or log field with a `v_type` outside `ValueType` keeps its `v_str` as a string value and
  adds a span warning (process tags have nowhere to warn). A reference type other than
  FOLLOWS_FROM reads as CHILD_OF, as Jaeger renders it. `process_id` is ignored: it only means
  something inside a `Trace`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyjaeger.codecs.errors import DecodeError, parse_protobuf
from pyjaeger.idl.api_v2 import collector_pb2, model_pb2
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = [
    "COLLECTOR_SERVICE",
    "POST_SPANS_METHOD",
    "NULL_PROCESS_SERVICE_NAME",
    "decode_post_spans",
    "encode_post_spans",
    "encode_post_spans_response",
    "batch_pb_to_spans",
    "spans_to_batch_pb",
]

COLLECTOR_SERVICE = "jaeger.api_v2.CollectorService"
POST_SPANS_METHOD = f"/{COLLECTOR_SERVICE}/PostSpans"

NULL_PROCESS_SERVICE_NAME = "null-process-and-service-name"

_US = 1_000_000


# --- spans -------------------------------------------------------------------------------------


def decode_post_spans(data: bytes) -> list[Span]:
    """PostSpansRequest bytes → spans; DecodeError when they do not parse or an id is malformed."""
    req = parse_protobuf(collector_pb2.PostSpansRequest(), data)
    return batch_pb_to_spans(req.batch)


def encode_post_spans(spans: Sequence[Span]) -> bytes:
    """One PostSpansRequest holding every span; see `spans_to_batch_pb` for the process rule."""
    req = collector_pb2.PostSpansRequest()
    req.batch.SetInParent()  # Jaeger's Go clients always send the batch, even an empty one
    spans_to_batch_pb(spans, req.batch)
    return req.SerializeToString()


def encode_post_spans_response() -> bytes:
    """The (always empty) PostSpansResponse."""
    return collector_pb2.PostSpansResponse().SerializeToString()


def batch_pb_to_spans(batch: model_pb2.Batch) -> list[Span]:
    """A parsed `Batch` → spans, by the rules in the module docstring."""
    log_ = Log
    span_ = Span
    ref_ = SpanRef
    from_bytes = int.from_bytes
    child_of, follows_from = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM
    us = _US

    # Keyed by the process's serialized bytes, so equal processes become one object.
    processes: dict[bytes, Process] = {}
    default: Process | None = None
    if batch.HasField("process"):
        bp = batch.process
        default = processes[bp.SerializeToString()] = _process(bp)

    spans: list[Span] = []
    keep = spans.append
    for i, sp in enumerate(batch.spans):
        tid_b = sp.trace_id
        n = len(tid_b)
        if n != 16 and n != 8:
            raise _id_error(f"batch.spans[{i}].trace_id", n, "16 or 8")
        sid_b = sp.span_id
        if len(sid_b) != 8:
            raise _id_error(f"batch.spans[{i}].span_id", len(sid_b), "8")
        ws = sp.warnings
        warnings: list[str] | None = list(ws) if ws else None

        refs: list[SpanRef] = []
        for j, r in enumerate(sp.references):
            rtid_b = r.trace_id
            n = len(rtid_b)
            if n != 16 and n != 8:
                raise _id_error(f"batch.spans[{i}].references[{j}].trace_id", n, "16 or 8")
            rsid_b = r.span_id
            if len(rsid_b) != 8:
                raise _id_error(f"batch.spans[{i}].references[{j}].span_id", len(rsid_b), "8")
            refs.append(
                ref_(
                    follows_from if r.ref_type == 1 else child_of,
                    from_bytes(rtid_b, "big"),
                    from_bytes(rsid_b, "big"),
                )
            )

        tags, warnings = _kvs(sp.tags, "tag", warnings)
        logs: list[Log] = []
        for lg in sp.logs:
            fields, warnings = _kvs(lg.fields, "log field", warnings)
            ts = lg.timestamp
            logs.append(log_(ts.seconds * us + ts.nanos // 1000, fields))

        if sp.HasField("process"):
            p = sp.process
            key = p.SerializeToString()
            process = processes.get(key)
            if process is None:
                process = processes[key] = _process(p)
        elif default is not None:
            process = default
        else:
            process = default = Process(NULL_PROCESS_SERVICE_NAME, [])

        st = sp.start_time
        d = sp.duration
        keep(
            span_(
                from_bytes(tid_b, "big"),
                from_bytes(sid_b, "big"),
                sp.operation_name,
                refs,
                sp.flags,
                st.seconds * us + st.nanos // 1000,
                d.seconds * us + d.nanos // 1000,
                tags,
                logs,
                process,
                warnings,
            )
        )
    return spans


def _kvs(pb_kvs: Any, what: str, warnings: list[str] | None) -> tuple[list[KeyValue], list[str] | None]:
    """Model key-values from api_v2 ones; an unknown v_type keeps v_str and adds a warning."""
    out: list[KeyValue] = []
    add = out.append
    kv_ = KeyValue
    for kv in pb_kvs:
        t = kv.v_type
        # Ordered by how often SDKs send each type.
        if t == 0:
            add(kv_(kv.key, _STRING, kv.v_str))
        elif t == 2:
            add(kv_(kv.key, _INT64, kv.v_int64))
        elif t == 1:
            add(kv_(kv.key, _BOOL, kv.v_bool))
        elif t == 3:
            add(kv_(kv.key, _FLOAT64, kv.v_float64))
        elif t == 4:
            add(kv_(kv.key, _BINARY, kv.v_binary))
        else:
            add(kv_(kv.key, _STRING, kv.v_str))
            warnings = _warn_type(warnings, what, kv.key, t)
    return out, warnings


_STRING, _BOOL, _INT64, _FLOAT64, _BINARY = ValueType


def _id_error(field: str, got: int, expected: str) -> DecodeError:
    return DecodeError(f"PostSpansRequest: {field}: expected {expected} bytes, got {got}")


def _warn_type(warnings: list[str] | None, what: str, key: str, v_type: int) -> list[str]:
    msg = f"{what} {key!r} has unknown v_type {v_type}; kept its v_str as a string"
    if warnings is None:
        return [msg]
    warnings.append(msg)
    return warnings


_VALUE_FIELDS = ("v_str", "v_bool", "v_int64", "v_float64", "v_binary")


def _process(p: model_pb2.Process) -> Process:
    # Once per distinct process per request, so clarity over speed; unknown types read as strings.
    tags = []
    for kv in p.tags:
        t = kv.v_type
        if 0 <= t < len(_VALUE_FIELDS):
            tags.append(KeyValue(kv.key, ValueType(t), getattr(kv, _VALUE_FIELDS[t])))
        else:
            tags.append(KeyValue(kv.key, ValueType.STRING, kv.v_str))
    return Process(p.service_name, tags)


def spans_to_batch_pb(spans: Sequence[Span], batch: model_pb2.Batch | None = None) -> model_pb2.Batch:
    """Spans → a `Batch` (filled into `batch` when given, e.g. a request's field).

    `batch.process` is the first span's process; a later span carries its own `process` only when
    its process is neither that object nor equal to it. Trace ids are always written as 16 bytes.
    Values outside the wire types (an int beyond int64, an id beyond 128/64 bits) raise
    ValueError or OverflowError: the model never holds them when it came from a decoder.
    """
    if batch is None:
        batch = model_pb2.Batch()
    if not spans:
        return batch
    first = spans[0].process
    batch.process.SetInParent()  # present even when empty: "no process" means something else
    _fill_process(batch.process, first)

    # Per-call caches keyed by object id: the spans keep every process alive until we return.
    same = {id(first)}
    own: dict[int, model_pb2.Process] = {}
    pb_refs = (model_pb2.CHILD_OF, model_pb2.FOLLOWS_FROM)
    add_kvs = _add_kvs
    us = _US
    add_span = batch.spans.add
    for span in spans:
        o = add_span(
            trace_id=span.trace_id.to_bytes(16, "big"),
            span_id=span.span_id.to_bytes(8, "big"),
            operation_name=span.operation_name,
            flags=span.flags,
        )
        if span.references:
            add_ref = o.references.add
            for ref in span.references:
                add_ref(
                    trace_id=ref.trace_id.to_bytes(16, "big"),
                    span_id=ref.span_id.to_bytes(8, "big"),
                    ref_type=pb_refs[ref.ref_type],
                )
        start = span.start_time
        st = o.start_time
        st.seconds = start // us
        st.nanos = start % us * 1000
        duration = span.duration
        du = o.duration
        if duration >= 0:
            du.seconds = duration // us
            du.nanos = duration % us * 1000
        else:
            # A Duration's seconds and nanos share the sign, so split the magnitude.
            du.seconds = -(-duration // us)
            du.nanos = -(-duration % us * 1000)
        if span.tags:
            add_kvs(o.tags.add, span.tags)
        if span.logs:
            add_log = o.logs.add
            for lg in span.logs:
                lo = add_log()
                ts = lg.timestamp
                lt = lo.timestamp
                lt.seconds = ts // us
                lt.nanos = ts % us * 1000
                add_kvs(lo.fields.add, lg.fields)
        if span.warnings:
            o.warnings.extend(span.warnings)

        p = span.process
        pid = id(p)
        if pid in same:
            continue
        pb = own.get(pid)
        if pb is None:
            if p == first:
                same.add(pid)
                continue
            pb = own[pid] = model_pb2.Process()
            _fill_process(pb, p)
        o.process.SetInParent()  # CopyFrom of an empty process alone might not mark it present
        o.process.CopyFrom(pb)
    return batch


def _fill_process(o: model_pb2.Process, p: Process) -> None:
    o.service_name = p.service_name
    if p.tags:
        _add_kvs(o.tags.add, p.tags)


def _add_kvs(add: Any, kvs: list[KeyValue]) -> None:
    # `add` is a repeated KeyValue field's add(); v_type STRING is the proto default, so omitted.
    for kv in kvs:
        t = kv.v_type
        if t == 0:
            add(key=kv.key, v_str=kv.value)
        elif t == 2:
            add(key=kv.key, v_type=model_pb2.INT64, v_int64=kv.value)
        elif t == 1:
            add(key=kv.key, v_type=model_pb2.BOOL, v_bool=kv.value)
        elif t == 3:
            add(key=kv.key, v_type=model_pb2.FLOAT64, v_float64=kv.value)
        else:
            add(key=kv.key, v_type=model_pb2.BINARY, v_binary=kv.value)
