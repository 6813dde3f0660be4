"""`ZipkinSpan` → canonical `Span`, giving what Jaeger v2 shows for the same Zipkin span.

Jaeger v2 turns Zipkin into OTLP (collector-contrib `zipkinv2/to_translator.go`) and OTLP into
its model (`traces_to_jaegerproto.go`); this does both steps at once (reference §5.3, §5.1):
- localEndpoint.serviceName → process service name; without it the OTLP "no service name"
  value, and (as in Jaeger) the resource-convention tags are then dropped, not kept.
- Tags named by OTel *resource* conventions (host.name, process.pid, telemetry.sdk.*, ...) →
  process tags; `service.name` itself is dropped (the endpoint's name wins).
- localEndpoint ip/port → process tags `net.host.ip` / `net.host.port` (int). Jaeger v2 puts
  these on the span; the issue wants them on the process, and the names are Jaeger v2's.
  Processes are shared per (service, ip, port); resource tags come from the first such span.
- remoteEndpoint → span tags `peer.service`, `net.peer.ip`, `net.peer.port` (int).
- `otel.library.*` (or `otel.scope.*`, which newer SDKs send alongside) → `otel.scope.*` tags,
  first, as OTLP scopes give; the duplicates are not kept as plain tags.
- kind → `span.kind`; none, plus a tag span.kind=internal → `internal`.
- `otel.status_code` (OK/ERROR, bare or STATUS_CODE_-prefixed) and `otel.status_description`
  → status; any `error` tag → status ERROR (Zipkin puts the message there), and the tag is
  dropped only when it is "true". Status ERROR renders `otel.status_code=ERROR` + bool `error`.
- `w3c.tracestate` → the `w3c.tracestate` tag after the status tags, like OTLP.
- other tags → STRING tags, in the sender's order.
- annotations → logs `event=<value>` (OTLP's `name|{json attrs}|dropped` form is decoded).
- missing timestamp → start 0 + bool tag `otel.zipkin.absentField.startTime`; missing duration → 0.
- flags: sampled (1) always, as for OTLP; `debug` adds FLAG_DEBUG (2).
- `shared` adds nothing visible (Jaeger v2 does not map it either): the query-side
  ZipkinSpanIDUniquifier keys on what `shared` means, a server-kind span reusing a client-kind
  span's id, so the `span.kind` tags are all it needs.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyjaeger.codecs.otel_translate import (
    NO_SERVICE_NAME,
    SPAN_KINDS,
    add_span_fields_as_tags,
    render_json_value,
)
from pyjaeger.codecs.zipkin_model import Endpoint, ZipkinSpan
from pyjaeger.model import (
    FLAG_DEBUG,
    FLAG_SAMPLED,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
    SpanRefType,
    ValueType,
)

__all__ = ["RESOURCE_TAG_KEYS", "zipkin_to_spans"]

_STRING = ValueType.STRING
_INT64 = ValueType.INT64
_KIND_NUMBERS = {
    "CLIENT": SPAN_KINDS.index("client"),
    "SERVER": SPAN_KINDS.index("server"),
    "PRODUCER": SPAN_KINDS.index("producer"),
    "CONSUMER": SPAN_KINDS.index("consumer"),
}
_INTERNAL = SPAN_KINDS.index("internal")
_STATUS = {
    "STATUS_CODE_UNSET": 0,
    "STATUS_CODE_OK": 1,
    "STATUS_CODE_ERROR": 2,
    "UNSET": 0,
    "OK": 1,
    "ERROR": 2,
}
_ABSENT_START = "otel.zipkin.absentField.startTime"

# OTel semantic-convention resource attributes (semconv 1.6.1, the set the contrib translator uses).
RESOURCE_TAG_KEYS = frozenset(
    """
    cloud.provider cloud.account.id cloud.region cloud.availability_zone cloud.platform
    aws.ecs.container.arn aws.ecs.cluster.arn aws.ecs.launchtype aws.ecs.task.arn
    aws.ecs.task.family aws.ecs.task.revision aws.eks.cluster.arn aws.log.group.names
    aws.log.group.arns aws.log.stream.names aws.log.stream.arns
    container.name container.id container.runtime container.image.name container.image.tag
    deployment.environment device.id device.model.identifier device.model.name
    faas.name faas.id faas.version faas.instance faas.max_memory
    host.id host.name host.type host.arch host.image.name host.image.id host.image.version
    k8s.cluster.name k8s.node.name k8s.node.uid k8s.namespace.name k8s.pod.uid k8s.pod.name
    k8s.container.name k8s.container.restart_count k8s.replicaset.uid k8s.replicaset.name
    k8s.deployment.uid k8s.deployment.name k8s.statefulset.uid k8s.statefulset.name
    k8s.daemonset.uid k8s.daemonset.name k8s.job.uid k8s.job.name k8s.cronjob.uid k8s.cronjob.name
    os.type os.description os.name os.version
    process.pid process.executable.name process.executable.path process.command
    process.command_line process.command_args process.owner process.runtime.name
    process.runtime.version process.runtime.description
    service.name service.namespace service.instance.id service.version
    telemetry.sdk.name telemetry.sdk.language telemetry.sdk.version telemetry.auto.version
    webengine.name webengine.version webengine.description
    """.split()
)
# Tags consumed into span fields; one set test per span skips the pops for plain spans.
_SPECIAL_TAGS = (
    frozenset(
        {
            "otel.library.name",
            "otel.library.version",
            "otel.scope.name",
            "otel.scope.version",
            "otel.status_code",
            "otel.status_description",
            "error",
            "w3c.tracestate",
            "span.kind",
        }
    )
    | RESOURCE_TAG_KEYS
)


def zipkin_to_spans(spans: list[ZipkinSpan]) -> list[Span]:
    """Translate a decoded batch; never fails (decoding already rejected malformed input)."""
    processes: dict[tuple[str | None, str | None, int | None], Process] = {}
    kv_ = KeyValue
    out: list[Span] = []
    keep = out.append
    for zs in spans:
        tags = zs.tags
        special = not _SPECIAL_TAGS.isdisjoint(tags)
        if special:
            tags = dict(tags)  # popped below; the caller's span stays as decoded

        local = zs.local_endpoint
        service = local.service_name if local is not None else None
        host_ip = host_port = None
        if local is not None:
            host_ip = local.ipv6 or local.ipv4  # both set: Jaeger v2 keeps the IPv6 one
            host_port = local.port
        pkey = (service, host_ip, host_port)
        process = processes.get(pkey)
        resource = [k for k in tags if k in RESOURCE_TAG_KEYS] if special else []
        if process is None:
            process = processes[pkey] = _process(service, host_ip, host_port, tags, resource)
        for k in resource:
            del tags[k]

        out_tags: list[KeyValue] = []
        add = out_tags.append
        kind = _KIND_NUMBERS.get(zs.kind, 0) if zs.kind else 0
        code = 0
        message = trace_state = ""
        if special:
            scope_name = tags.pop("otel.library.name", "")
            scope_version = tags.pop("otel.library.version", "")
            scope_name = tags.pop("otel.scope.name", "") or scope_name
            scope_version = tags.pop("otel.scope.version", "") or scope_version
            if scope_name:
                add(kv_("otel.scope.name", _STRING, scope_name))
            if scope_version:
                add(kv_("otel.scope.version", _STRING, scope_version))
            if "otel.status_code" in tags:
                code = _STATUS.get(tags.pop("otel.status_code"), 0)
                message = tags.pop("otel.status_description", "")
            error = tags.get("error")
            if error is not None:
                code = 2
                if error == "true":
                    del tags["error"]
            trace_state = tags.pop("w3c.tracestate", "")
            if not kind and tags.get("span.kind") == "internal":
                kind = _INTERNAL
                del tags["span.kind"]
        for key, value in tags.items():
            add(kv_(key, _STRING, value))

        remote = zs.remote_endpoint
        if remote is not None:
            _peer_tags(remote, add)
        start = zs.timestamp
        if start is None:
            start = 0
            add(kv_(_ABSENT_START, ValueType.BOOL, True))
        add_span_fields_as_tags(out_tags, kind, code, message, trace_state)

        parent = zs.parent_id
        refs = [SpanRef(SpanRefType.CHILD_OF, zs.trace_id, parent)] if parent and parent != zs.id else []
        logs = [_log(a.timestamp, a.value) for a in zs.annotations] if zs.annotations else []
        flags = FLAG_SAMPLED | FLAG_DEBUG if zs.debug else FLAG_SAMPLED
        keep(Span(zs.trace_id, zs.id, zs.name, refs, flags, start, zs.duration or 0, out_tags, logs, process))
    return out


def _process(
    service: str | None, host_ip: str | None, host_port: int | None, tags: dict[str, str], resource: list[str]
) -> Process:
    ptags: list[KeyValue] = []
    if service:
        # Without a service name Jaeger's resource stays empty; the convention tags are lost.
        ptags = [KeyValue(k, _STRING, tags[k]) for k in resource if k != "service.name"]
    if host_ip:
        ptags.append(KeyValue("net.host.ip", _STRING, host_ip))
    if host_port:
        ptags.append(KeyValue("net.host.port", _INT64, host_port))
    return Process(service or NO_SERVICE_NAME, ptags)


def _peer_tags(remote: Endpoint, add: Any) -> None:
    if remote.service_name:
        add(KeyValue("peer.service", _STRING, remote.service_name))
    ip = remote.ipv6 or remote.ipv4
    if ip:
        add(KeyValue("net.peer.ip", _STRING, ip))
    if remote.port:
        add(KeyValue("net.peer.port", _INT64, remote.port))


def _log(timestamp: int, value: str) -> Log:
    """An annotation as Jaeger logs it: OTLP reads `name|{json attrs}|dropped` as an event."""
    name = value
    fields: list[KeyValue] = []
    if "|" in value:
        parts = value.split("|")
        name = parts[0]
        if len(parts) >= 3:
            attrs = _event_attrs("|".join(parts[1:-1]), parts[-1])
            if attrs is None:
                # Jaeger rejects the whole request here; keeping the text loses nothing.
                name = value
            else:
                fields = attrs
    if name and not any(f.key == "event" for f in fields):
        fields.insert(0, KeyValue("event", _STRING, name))
    return Log(timestamp, fields)


def _event_attrs(attrs_json: str, dropped: str) -> list[KeyValue] | None:
    if not dropped.isdigit():
        return None
    try:
        raw = orjson.loads(attrs_json)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    fields = []
    for key, v in raw.items():
        if isinstance(v, str):
            fields.append(KeyValue(key, _STRING, v))
        elif isinstance(v, bool):
            fields.append(KeyValue(key, ValueType.BOOL, v))
        elif isinstance(v, (int, float)):
            # Go decodes every JSON number as float64, so Jaeger shows them as doubles.
            fields.append(KeyValue(key, ValueType.FLOAT64, float(v)))
        elif v is None:
            fields.append(KeyValue(key, _STRING, ""))
        else:
            fields.append(KeyValue(key, _STRING, render_json_value(v)))
    return fields
