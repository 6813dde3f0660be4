"""The daily dependencies job: what Jaeger runs `jaegertracing/spark-dependencies` for.

It reads every span of one UTC day, counts service-to-service links trace by trace and stores
them as one document, which Jaeger's reader (and ours) then answer `/api/dependencies` from.
Facts from `spark-dependencies` (`ElasticsearchDependenciesJob.java`, `SpansToDependencyLinks
.java`, `model/Dependency.java` at cd35e51):

- reads `<prefix->jaeger-span-<day>` (with aliases `<prefix->jaeger-span-read`), writes one
  document to `<prefix->jaeger-dependencies-<day>` (with aliases `-write`);
- the document is `{"dependencies": [{"parent", "child", "callCount", "source": "jaeger"}],
  "timestamp": "<day>T00:00:00Z"}` (`yyyy-MM-dd'T'HH:mm:ssXXX` of the day's UTC start);
- a day without links writes nothing.

Differences, on purpose:
- the spans read are those whose start time is in the UTC day, in every mode. Spark adds a
  `startTimeMillis >= now - ES_TIME_RANGE` (24h) filter instead, which with aliases is its only
  bound and which, run for a past day, drops that day's spans;
- links follow the rule the reader's fallback uses (`links.count_links`: the parent span by
  Jaeger's rule, other service only), so `/api/dependencies` answers the same before and after
  the job runs. Spark also counts every reference of a span, links within a service, Zipkin
  shared-span client/server pairs and leaf spans' `peer.service` tags;
- the document has a fixed `_id` (the day), so that running a day again replaces its links;
  a rerun that finds no links deletes them. Spark's documents get generated ids and pile up;
- the dependencies index template is PUT when missing, unless `create_index_templates` is off
  (Jaeger's collector and query never install it; `es-rollover init` does).

Memory stays bounded whatever the size of the day: spans come sorted by trace id through a
point in time with `search_after`, only the fields the links need, and each trace is counted
and dropped as soon as the next one starts. A trace that crosses midnight is counted in parts,
each on its own day, as spark does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from elasticsearch import AsyncElasticsearch

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.model import DependencyLink, Span
from pyjaeger.storage.base import StorageError
from pyjaeger.storage.elasticsearch import templates
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.dbmodel import doc_to_span
from pyjaeger.storage.elasticsearch.indices import DEPENDENCIES
from pyjaeger.storage.links import LinkCounts, count_links, to_links

__all__ = ["JobResult", "compute_and_write", "day_start_us", "dependencies_doc", "doc_id", "es_version"]

SOURCE = "jaeger"  # spark's Dependency.getSource()
_KEEP_ALIVE = "5m"  # of the point in time, between two pages
# What a link needs from a span document; the rest (tags, logs) can be large.
_SOURCE_FIELDS = ["traceID", "spanID", "parentSpanID", "references", "process.serviceName"]
_SORT = [{"traceID": "asc"}, {"startTime": "asc"}, {"spanID": "asc"}]
_DAY_US = 24 * 3600 * 1_000_000
_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}


@dataclass(slots=True)
class JobResult:
    day: date
    index: str  # the dependencies index (or write alias) the document went to
    doc_id: str
    spans: int = 0
    traces: int = 0
    links: list[DependencyLink] = field(default_factory=list)
    written: bool = False  # False: no links, nothing written (and an earlier document deleted)


def day_start_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 1_000_000


def doc_id(day: date) -> str:
    """One document per day: in a daily index the id alone would do, but an alias spans days."""
    return day.isoformat()


def dependencies_doc(day: date, links: Sequence[DependencyLink]) -> dict[str, Any]:
    """Spark's document, key order included (Jackson writes field-backed properties first)."""
    return {
        "dependencies": [
            {"parent": link.parent, "child": link.child, "callCount": link.call_count, "source": SOURCE}
            for link in links
        ],
        "timestamp": f"{day.isoformat()}T00:00:00Z",
    }


async def compute_and_write(
    client: AsyncElasticsearch,
    config: ElasticsearchConfig,
    day: date,
    *,
    page_size: int = 0,
) -> JobResult:
    """Count the links of `day` (UTC) from the span indices `config` names and store them.

    `page_size`: spans per search page, default `config.max_doc_count`. Raises the client's
    `TransportError` (unreachable) or `ApiError` (refused request), and `StorageError` for a
    span document that cannot be read.
    """
    names = config.index_names
    start = day_start_us(day)
    end = start + _DAY_US
    result = JobResult(day, names.dependencies_write_index(start), doc_id(day))
    counts: LinkCounts = {}
    indices = names.span_read_indices(start, end - 1)
    size = page_size or config.max_doc_count
    rep = config.tags_as_fields.dot_replacement
    async with aclosing(_traces(client, indices, start, end, size, rep)) as traces:
        async for trace in traces:
            result.traces += 1
            result.spans += len(trace)
            count_links(trace, counts)
    result.links = to_links(counts)
    if not result.links:
        await client.options(ignore_status=404).delete(index=result.index, id=result.doc_id, refresh=True)
        return result
    if config.create_index_templates:
        await _ensure_template(client, config)
    await client.index(
        index=result.index, id=result.doc_id, document=dependencies_doc(day, result.links), refresh=True
    )
    result.written = True
    return result


async def _traces(
    client: AsyncElasticsearch, indices: Sequence[str], start: int, end: int, size: int, dot_replacement: str
) -> AsyncGenerator[list[Span], None]:
    """The spans starting in [start, end) µs, one trace at a time.

    A point in time keeps the pages consistent while spans are still being written, and gives
    the sort its unique tie-breaker (`_shard_doc`), so equal sort values never fall between
    two pages and get skipped.
    """
    pit = await client.open_point_in_time(
        index=",".join(indices), keep_alive=_KEEP_ALIVE, ignore_unavailable=True
    )
    pit_id: str = pit["id"]
    query = {
        "bool": {
            "filter": [
                {"range": {"startTime": {"gte": start, "lt": end}}},
                {"range": {"startTimeMillis": {"gte": start // 1000, "lt": end // 1000}}},
            ]
        }
    }
    try:
        current: list[Span] = []
        current_id = ""
        search_after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {} if search_after is None else {"search_after": search_after}
            resp = await client.search(
                pit={"id": pit_id, "keep_alive": _KEEP_ALIVE},
                query=query,
                sort=_SORT,
                size=size,
                source_includes=_SOURCE_FIELDS,
                track_total_hits=False,
                **extra,
            )
            pit_id = resp.get("pit_id", pit_id)
            hits = resp["hits"]["hits"]
            for hit in hits:
                source = hit["_source"]
                # The sort key, not the parsed id: one trace written once with 16 and once with
                # 32 digits sorts in two places, and is then counted as two traces.
                trace_key = str(source.get("traceID", ""))
                if trace_key != current_id and current:
                    yield current
                    current = []
                current_id = trace_key
                try:
                    current.append(doc_to_span(source, dot_replacement=dot_replacement))
                except DecodeError as e:
                    raise StorageError(f"unreadable span document {hit.get('_id')}: {e}") from e
            if len(hits) < size:
                break
            search_after = hits[-1]["sort"]
        if current:
            yield current
    finally:
        await client.options(ignore_status=404).close_point_in_time(id=pit_id)


async def _ensure_template(client: AsyncElasticsearch, config: ElasticsearchConfig) -> None:
    """PUT Jaeger's dependencies template unless one of that name exists: es-rollover's (with
    its aliases or ILM settings) or an operator's own must not be replaced."""
    version = config.version or await es_version(client)
    path = "/" + templates.template_path(DEPENDENCIES, version, config.index_prefix)
    found = await client.options(ignore_status=404).perform_request("HEAD", path)
    if found.meta.status == 200:
        return
    body = templates.render_template(
        DEPENDENCIES,
        version,
        prefix=config.index_prefix,
        shards=config.num_shards,
        replicas=config.num_replicas,
    )
    await client.perform_request("PUT", path, body=body, headers=_JSON_HEADERS)


async def es_version(client: AsyncElasticsearch) -> int:
    """The cluster's major version from `/_nodes/_local` (not `GET /`, which the minimal
    distributions do not serve), as the store asks it."""
    resp = await client.nodes.info(node_id="_local", filter_path="nodes.*.version")
    versions = [str(node["version"]) for node in resp.get("nodes", {}).values()]
    if not versions:
        raise StorageError("elasticsearch: no node answered /_nodes/_local")
    return int(versions[0].split(".")[0])
