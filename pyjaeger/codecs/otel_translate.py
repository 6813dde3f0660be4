"""OpenTelemetry → Jaeger: the translation rules the OTLP (protobuf and JSON) and Zipkin codecs share.

Jaeger's (collector-contrib `traces_to_jaegerproto.go`): a span's tags are its scope
(`otel.scope.name`, `otel.scope.version`), its attributes, then its kind, status and tracestate
as tags; a parent id becomes a leading CHILD_OF reference, links become further references (a
link to the parent only says which kind the parent reference is); a resource without attributes
is the service `OTLPResourceNoServiceName`; array and kvlist values are stored as the JSON Go's
`json.Marshal` writes. Every SDK exports only sampled spans, so flags are always 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyjaeger.gotext.json import marshal
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType

__all__ = [
    "NO_SERVICE_NAME",
    "SPAN_KINDS",
    "STATUS_CODES",
    "KIND_NUMBERS",
    "STATUS_NUMBERS",
    "STATUS_ERROR",
    "MADE_UP_TAG_KEYS",
    "DecodeResult",
    "span_tags",
    "add_span_fields_as_tags",
    "link_ref_type",
    "otel_span",
    "render_json_value",
]

NO_SERVICE_NAME = "OTLPResourceNoServiceName"
# Indexed by the OTLP SpanKind / StatusCode numbers; "" means the value produces no tag.
SPAN_KINDS = ("", "internal", "server", "client", "producer", "consumer")
STATUS_CODES = ("", "OK", "ERROR")
KIND_NUMBERS = {name: i for i, name in enumerate(SPAN_KINDS) if name}
STATUS_NUMBERS = {name: i for i, name in enumerate(STATUS_CODES) if name}
STATUS_ERROR = STATUS_NUMBERS["ERROR"]
# The keys of the tags decoding makes from a span's scope and fields (`span_tags`,
# `add_span_fields_as_tags`), and of the log field it makes from an event's name: they are not
# in the span's own bytes.
MADE_UP_TAG_KEYS = frozenset(
    {
        "otel.scope.name",
        "otel.scope.version",
        "span.kind",
        "otel.status_code",
        "otel.status_description",
        "error",
        "w3c.tracestate",
        "event",
    }
)

_STRING = ValueType.STRING
_CHILD_OF = SpanRefType.CHILD_OF


@dataclass(slots=True)
class DecodeResult:
    spans: list[Span]
    rejected: int = 0  # spans refused for invalid content, reported as OTLP partial success
    error_message: str = ""  # why, for the partial-success response; "" when rejected == 0
    first_reason: str = ""  # the first refused span's reason alone


def span_tags(scope_name: str, scope_version: str) -> list[KeyValue]:
    """A span's tag list as it starts: its scope's name and version; the attributes follow."""
    if not scope_name and not scope_version:
        return []
    tags = [KeyValue("otel.scope.name", _STRING, scope_name)] if scope_name else []
    if scope_version:
        tags.append(KeyValue("otel.scope.version", _STRING, scope_version))
    return tags


def add_span_fields_as_tags(
    tags: list[KeyValue], kind: int, code: int, message: str, trace_state: str
) -> None:
    """The span fields as tags, after the attributes: `span.kind`, `otel.status_code` (+
    `error=true` for ERROR), `otel.status_description`, `w3c.tracestate`."""
    add = tags.append
    if 0 < kind < len(SPAN_KINDS):
        add(KeyValue("span.kind", _STRING, SPAN_KINDS[kind]))
    if 0 < code < len(STATUS_CODES):
        add(KeyValue("otel.status_code", _STRING, STATUS_CODES[code]))
        if code == STATUS_ERROR:
            add(KeyValue("error", ValueType.BOOL, True))
    if message:
        add(KeyValue("otel.status_description", _STRING, message))
    if trace_state:
        add(KeyValue("w3c.tracestate", _STRING, trace_state))


def link_ref_type(ref_types: Iterable[object]) -> SpanRefType:
    """A link is a FOLLOWS_FROM reference unless one of its `opentracing.ref_type` attributes
    (their values are `ref_types`) says `child_of`."""
    return _CHILD_OF if any(t == "child_of" for t in ref_types) else SpanRefType.FOLLOWS_FROM


def otel_span(
    trace_id: int,
    span_id: int,
    name: str,
    tags: list[KeyValue],
    kind: int,
    code: int,
    message: str,
    trace_state: str,
    parent: int,
    links: Sequence[tuple[int, int, SpanRefType]],
    logs: list[Log],
    start_ns: int,
    end_ns: int,
    process: Process,
    warnings: list[str] | None,
) -> Span:
    """One decoded OTLP span as the model's: `tags` holds the scope tags and attributes,
    `links` the (trace id, span id, reference type) of the well-formed links, times are ns."""
    add_span_fields_as_tags(tags, kind, code, message, trace_state)
    refs = [SpanRef(_CHILD_OF, trace_id, parent)] if parent else []
    for link_trace, link_span, ref_type in links:
        if parent and link_trace == trace_id and link_span == parent:
            # The parent reference is already first; the link only says which kind it is.
            refs[0].ref_type = ref_type
            continue
        refs.append(SpanRef(ref_type, link_trace, link_span))
    duration = (end_ns - start_ns) // 1000
    return Span(
        trace_id,
        span_id,
        name,
        refs,
        1,
        start_ns // 1000,
        duration if duration > 0 else 0,
        tags,
        logs,
        process,
        warnings,
    )


def render_json_value(raw: object) -> str:
    """An array or kvlist value (as None/bool/int/float/str/bytes/list/dict) as Jaeger stores it:
    Go's `json.Marshal` text, or "" when a NaN or infinity makes json.Marshal fail."""
    try:
        return marshal(raw)
    except ValueError:
        return ""
