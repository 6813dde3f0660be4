"""`ElasticsearchStore`: the writer and readers over one `AsyncElasticsearch` client.

`start()` (also run by `open()`) asks the cluster its major version when `config.version` is 0
(`GET /_nodes/_local`: `GET /` is not served by every distribution) and PUTs Jaeger's span and
service index templates unless `create_index_templates` is off (`_template` for ES 7,
`_index_template` for 8 and later). `close()` is safe before `start()` and twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from elastic_transport import HttpxAsyncHttpNode
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

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
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.indices import SERVICE, SPAN
from pyjaeger.storage.elasticsearch.reader import ElasticsearchReader
from pyjaeger.storage.elasticsearch.writer import ElasticsearchWriter

__all__ = ["ElasticsearchStore", "make_client"]


def make_client(urls: Sequence[str], username: str, password: str, timeout: float) -> AsyncElasticsearch:
    """The async client every part uses: httpx transport (no aiohttp needed), no client-side
    retries (the writer retries itself; reads and tools fail fast to their caller)."""
    return AsyncElasticsearch(
        list(urls),
        basic_auth=(username, password) if username else None,
        node_class=HttpxAsyncHttpNode,
        request_timeout=timeout,
        max_retries=0,
    )


class ElasticsearchStore(SpanWriter, SpanReader, DependencyReader):
    def __init__(self, config: ElasticsearchConfig, client: AsyncElasticsearch | None = None) -> None:
        config.validate()
        self.config = config
        if client is None:
            client = make_client(config.server_urls, config.username, config.password, config.timeout)
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
        try:
            if self.version == 0:
                self.version = await self._detect_version()
            if self.config.create_index_templates:
                await self._create_templates()
        except (TransportError, ApiError) as e:
            raise StorageError(f"elasticsearch start failed: {e}") from e

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
