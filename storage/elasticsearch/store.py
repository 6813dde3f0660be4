"""`ElasticsearchStore`: the writer and readers over one `AsyncElasticsearch` client.

`start()` (also run by `open()`) asks the cluster its major version when `config.version` is 0
(`GET /_nodes/_local`: `GET /` is not served by every distribution) and PUTs Jaeger's span and
service index templates unless `create_index_templates` is off (`_template` for ES 7,
`_index_template` for 8 and later). `close()` is safe before `start()` and twice.

`start()` waits for a cluster that is not up yet: connection failures, timeouts, 429 and 5xx are
retried with backoff (0.5 s doubling to 5 s) for `config.start_timeout` seconds (0: one attempt),
with a WARNING per failed attempt; a TLS failure or a refused request (4xx: bad credentials, a
template the cluster rejects) fails at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from elastic_transport import TlsError
from elasticsearch import ApiError, AsyncElasticsearch, SerializationError, TransportError

from pyjaeger.model import DependencyLink, Span, Trace
from pyjaeger.storage.base import (
    DependencyReader,
    Operation,
    SpanReader,
    SpanWriter,
    StorageError,
    TraceQuery,
)
from pyjaeger.storage.elasticsearch import templates
from pyjaeger.storage.elasticsearch.client import make_client
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.indices import SERVICE, SPAN
from pyjaeger.storage.elasticsearch.reader import ElasticsearchReader
from pyjaeger.storage.elasticsearch.writer import ElasticsearchWriter, describe_error

__all__ = ["ElasticsearchStore"]

log = logging.getLogger(__name__)

_START_BACKOFF = (0.5, 5.0)  # s: first delay between start-up attempts, cap


class ElasticsearchStore(SpanWriter, SpanReader, DependencyReader):
    def __init__(self, config: ElasticsearchConfig, client: AsyncElasticsearch | None = None) -> None:
        config.validate()
        # The writer and reader see the file's keys as if given with .include.
        config = replace(config, tags_as_fields=config.tags_as_fields.resolved())
        self.config = config
        if client is None:
            client = make_client(
                config.server_urls, config.username, config.password, config.timeout, tls=config.tls
            )
        self.client = client
        self.version = config.version
        self._writer = ElasticsearchWriter(client, config)
        self._reader = ElasticsearchReader(client, config)
        self._closed = False

    @classmethod
    async def open(cls, config: ElasticsearchConfig) -> ElasticsearchStore:
        store = cls(config)
        try:
            await store.start()
        except BaseException:
            await store.close()
            raise
        return store

    async def start(self) -> None:
        urls = self.config.display_urls
        budget = self.config.start_timeout
        began = time.monotonic()
        delay, max_delay = _START_BACKOFF
        attempt = 1
        while True:
            left = budget - (time.monotonic() - began)
            try:
                if budget > 0:
                    # A host that drops packets would otherwise hold one attempt for --es.timeout.
                    async with asyncio.timeout(max(left, 0.1)):
                        await self._start_once()
                else:
                    await self._start_once()
                return
            except TimeoutError as e:
                last: Exception = e
                error = f"no answer within {max(left, 0.1):.1f}s"
            except (TransportError, ApiError) as e:
                if not _transient(e):
                    raise StorageError(f"elasticsearch at {urls}: start failed: {describe_error(e)}") from e
                last, error = e, describe_error(e)
            elapsed = time.monotonic() - began
            left = budget - elapsed
            if left <= 0:
                raise StorageError(
                    f"elasticsearch at {urls} unreachable after {elapsed:.1f}s: {error}"
                ) from last
            wait = min(delay, left)
            log.warning(
                "elasticsearch at %s not reachable (attempt %d): %s; retrying in %.1fs",
                urls,
                attempt,
                error,
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, max_delay)
            attempt += 1

    async def _start_once(self) -> None:
        if self.version == 0:
            self.version = await self._detect_version()
        if self.config.create_index_templates:
            await self._create_templates()

    async def _detect_version(self) -> int:
        resp = await self.client.nodes.info(node_id="_local", filter_path="nodes.*.version")
        versions = [str(node["version"]) for node in resp["nodes"].values()]
        if not versions:
            raise StorageError("elasticsearch: no node answered /_nodes/_local")
        return int(versions[0].split(".")[0])

    async def _create_templates(self) -> None:
        c = self.config
        for kind in (SPAN, SERVICE):
            body = templates.render_template(
                kind, self.version, prefix=c.index_prefix, shards=c.num_shards, replicas=c.num_replicas
            )
            path = "/" + templates.template_path(kind, self.version, c.index_prefix)
            await self.client.perform_request(
                "PUT",
                path,
                body=body,
                headers={"content-type": "application/json", "accept": "application/json"},
            )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        await self.client.close()

    async def refresh(self) -> None:
        """Make every write so far searchable (for tests: Elasticsearch refreshes every second)."""
        pattern = templates.template_name(SPAN, self.config.index_prefix)[: -len("span")] + "*"
        await self.client.indices.refresh(index=pattern, ignore_unavailable=True, allow_no_indices=True)

    # The interfaces, delegated.

    async def write_spans(self, spans: Sequence[Span]) -> None:
        await self._writer.write_spans(spans)

    async def get_trace(self, trace_id: int) -> Trace | None:
        return await self._reader.get_trace(trace_id)

    async def get_services(self) -> list[str]:
        return await self._reader.get_services()

    async def get_operations(self, service: str, span_kind: str = "") -> list[Operation]:
        return await self._reader.get_operations(service, span_kind)

    async def find_trace_ids(self, query: TraceQuery) -> list[int]:
        return await self._reader.find_trace_ids(query)

    async def find_traces(self, query: TraceQuery) -> list[Trace]:
        return await self._reader.find_traces(query)

    async def get_dependencies(self, end_ts: int, lookback: int) -> list[DependencyLink]:
        return await self._reader.get_dependencies(end_ts, lookback)


def _transient(e: TransportError | ApiError) -> bool:
    """Whether a later attempt may succeed: the cluster is down, starting or overloaded."""
    if isinstance(e, ApiError):
        return e.status_code in (408, 429) or e.status_code >= 500
    return not isinstance(e, (TlsError, SerializationError))
