"""The storage backends the conformance suite runs against, and what each of them can do.

Adding a backend is one entry in `BACKENDS`: an async factory that takes `max_traces` and returns a
`Backend` whose store is empty and private to the caller (a fresh file, a fresh index prefix), so
that tests never see each other's spans. The cases never change for a new backend; its
documented exceptions to the contract go into its `Capabilities`.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyjaeger.model import Span
from pyjaeger.storage.base import DependencyReader, SpanReader, SpanWriter

if TYPE_CHECKING:
    from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

__all__ = ["BACKENDS", "Backend", "BackendFactory", "Capabilities", "settle", "wait_for"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A backend's documented exceptions to the storage contract; the defaults are the contract."""

    # Operations carry their span kind and get_operations filters by it. Elasticsearch stores
    # no kind: every operation comes back with kind "" and the filter is ignored (jaeger#1923).
    span_kind_in_operations: bool = True
    # Writes become readable only after a while (the Elasticsearch refresh interval): tests wait
    # for written data to show before they query it.
    refresh_lag: bool = False
    # make(max_traces=N) keeps only the N newest traces.
    evicts_at_max_traces: bool = True
    # get_dependencies derives links from the stored spans, rather than from links an external
    # job stored (spark-dependencies for Elasticsearch).
    dependencies_from_spans: bool = True
    # How long `settle` waits for written data to show, in seconds.
    settle_timeout: float = 30.0


@dataclass(slots=True)
class Backend:
    name: str
    writer: SpanWriter
    reader: SpanReader
    deps: DependencyReader
    close: Callable[[], Awaitable[None]]
    caps: Capabilities = field(default_factory=Capabilities)


BackendFactory = Callable[[int], Awaitable[Backend]]


async def _memory(max_traces: int) -> Backend:
    # Imported here so that a backend that fails to import fails its own tests, not collection.
    from pyjaeger.storage.memory import MemoryStore

    store = MemoryStore(max_traces=max_traces)
    return Backend("memory", store, store, store, store.close)


async def _sqlite(max_traces: int) -> Backend:
    import tempfile
    from pathlib import Path

    from pyjaeger.storage.sqlite.config import SqliteConfig
    from pyjaeger.storage.sqlite.store import SqliteStore

    folder = tempfile.TemporaryDirectory(prefix="pyjaeger-sqlite-")
    store = SqliteStore(SqliteConfig(path=str(Path(folder.name) / "traces.db")))
    await store.start()

    async def close() -> None:
        try:
            await store.close()
        finally:
            folder.cleanup()

    # Bounded by age and size (--sqlite.retention, --sqlite.max-size), not by trace count.
    caps = Capabilities(evicts_at_max_traces=False)
    return Backend("sqlite", store, store, store, close, caps)


# The Elasticsearch node's URL, set by conftest.py's session fixture before the first factory call.
ELASTICSEARCH_URL: list[str] = []


class _RefreshingWriter(SpanWriter):
    """Refreshes the store's indices after each write: the refresh lag stays real for reads
    racing the writes (the concurrency case), but a test's settle no longer waits ~1 s."""

    def __init__(self, store: ElasticsearchStore) -> None:
        self._store = store

    async def write_spans(self, spans: Sequence[Span]) -> None:
        await self._store.write_spans(spans)
        await self._store.refresh()


async def _elasticsearch(max_traces: int, *, aliases: bool = False) -> Backend:
    from pyjaeger.storage.elasticsearch import rollover
    from pyjaeger.storage.elasticsearch.client import make_client
    from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
    from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

    assert ELASTICSEARCH_URL, "the storage_elasticsearch fixture sets the node's URL"
    url = ELASTICSEARCH_URL[0]
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"  # a private namespace: indices and templates
    config = ElasticsearchConfig(
        server_urls=(url,),
        index_prefix=prefix,
        num_shards=1,
        num_replicas=0,
        use_aliases=aliases,
        # With aliases, es-rollover init below installs the templates, as it does for Jaeger.
        create_index_templates=not aliases,
    )
    if aliases:
        client = make_client([url], "", "", 60.0)
        try:
            options = rollover.TemplateOptions(shards=1, replicas=0)
            await rollover.init(client, rollover.managed_indices(prefix), options)
        finally:
            await client.close()
    store = await ElasticsearchStore.open(config)

    async def close() -> None:
        try:
            client = store.client.options(ignore_status=404)
            indices = await client.indices.get(index=f"{prefix}-jaeger-*", expand_wildcards="all")
            if indices.body:
                await client.indices.delete(index=",".join(indices.body))
            for kind in ("span", "service", "dependencies"):
                await client.indices.delete_index_template(name=f"{prefix}-jaeger-{kind}")
        finally:
            await store.close()

    caps = Capabilities(
        span_kind_in_operations=False,
        refresh_lag=True,
        evicts_at_max_traces=False,
        dependencies_from_spans=True,
    )
    name = "elasticsearch-aliases" if aliases else "elasticsearch"
    return Backend(name, _RefreshingWriter(store), store, store, close, caps)


async def _elasticsearch_aliases(max_traces: int) -> Backend:
    """`--es.use-aliases` over the indices and aliases `es-rollover init` creates."""
    return await _elasticsearch(max_traces, aliases=True)


INGEST_PROCESSES = 3
_GRPC_BATCH = 200  # spans per PostSpans call: far below the 4 MiB message limit


class _CollectorWriter(SpanWriter):
    """Writes through a running collector with ingest worker processes: each call goes as
    api_v2 `PostSpans` requests (the Jaeger model whole: process tags, references, warnings) to
    the shared gRPC port, is decoded in whichever worker the connection reached, crosses to the
    process owning the store, and returns once the span processor has written it."""

    def __init__(self, app: Any, port: int, then: SpanWriter | None = None) -> None:
        import grpc

        from pyjaeger.codecs.api_v2 import POST_SPANS_METHOD

        self._app = app
        # A channel per call spreads the calls over the workers, as many clients would.
        self._channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(4)]
        self._method = POST_SPANS_METHOD
        self._next = 0
        self._then = then

    async def write_spans(self, spans: Sequence[Span]) -> None:
        from pyjaeger.codecs.api_v2 import encode_post_spans

        for i in range(0, len(spans), _GRPC_BATCH):
            channel = self._channels[self._next % len(self._channels)]
            self._next += 1
            call = channel.unary_unary(self._method)
            await call(encode_post_spans(spans[i : i + _GRPC_BATCH]), timeout=30)
        await self._app.processor.idle()
        if self._then is not None:
            await self._then.write_spans([])

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


class _Refresh(SpanWriter):
    def __init__(self, store: Any) -> None:
        self._store = store

    async def write_spans(self, spans: Sequence[Span]) -> None:
        await self._store.refresh()


async def _through_collector(storage: str, max_traces: int) -> Backend:
    """The backend `storage`, written through `pyjaeger collector --collector.ingest-processes=3`
    (each worker a real process), read directly."""
    from dataclasses import replace

    from pyjaeger.cmd.app import App
    from pyjaeger.cmd.config import AdminConfig, Config
    from pyjaeger.collector.config import CollectorConfig
    from pyjaeger.hostport import HostPort
    from pyjaeger.storage.config import StorageConfig
    from pyjaeger.storage.memory.config import MemoryConfig

    inner = await BACKENDS[storage](max_traces)  # for its configuration and its cleanup
    loopback = HostPort("127.0.0.1", 0)
    collector = CollectorConfig(
        http_host_port=loopback,
        grpc_host_port=loopback,
        otlp_grpc_host_port=loopback,
        otlp_http_host_port=loopback,
        ingest_processes=INGEST_PROCESSES,
        queue_size=100_000,
    )
    storage_config = _storage_config_of(inner, StorageConfig(memory=MemoryConfig(max_traces=max_traces)))
    config = Config(collector=collector, storage=storage_config, admin=AdminConfig(http_host_port=loopback))
    app = App("collector", config)
    await app.start()
    port = int(app.listeners()["collector gRPC server"].rsplit(":", 1)[1])
    assert app.storage is not None
    store = app.storage.reader
    writer = _CollectorWriter(app, port, _Refresh(store) if inner.caps.refresh_lag else None)

    async def close() -> None:
        try:
            await writer.close()
            await app.stop()
        finally:
            await inner.close()

    caps = replace(inner.caps)
    return Backend(f"{inner.name}-ingest-processes", writer, store, app.storage.dependencies, close, caps)


def _storage_config_of(inner: Backend, memory: Any) -> Any:
    """The StorageConfig naming the store `inner` made (its file, its index prefix)."""
    from dataclasses import replace

    from pyjaeger.storage.config import StorageConfig

    store: Any = inner.reader
    if inner.name == "memory":
        return memory
    if inner.name == "sqlite":
        return StorageConfig(span_storage_type="sqlite", sqlite=store.config)
    return StorageConfig(span_storage_type="elasticsearch", elasticsearch=replace(store.config))


BACKENDS: dict[str, BackendFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "elasticsearch": _elasticsearch,
    "elasticsearch-aliases": _elasticsearch_aliases,
}
# The same stores written through ingest worker processes (several processes, one owner).
for _name in ("memory", "sqlite", "elasticsearch"):
    BACKENDS[f"{_name}-ingest-processes"] = functools.partial(_through_collector, _name)


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.05
) -> None:
    """Await `predicate` until it returns True; AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() >= deadline:
            raise AssertionError(f"still false after {timeout}s: {predicate.__qualname__}")
        await asyncio.sleep(interval)


async def settle(backend: Backend, stored: Iterable[Span], gone: Iterable[int] = ()) -> None:
    """Wait until a backend with refresh lag shows what was written.

    `stored` is every span the store must now hold for the traces concerned, `gone` the ids of
    traces it must no longer hold. A backend without refresh lag must show writes at once, so
    there is nothing to wait for: the test's own reads check it.
    """
    if not backend.caps.refresh_lag:
        return
    want: dict[int, set[int]] = {}
    services = set()
    for s in stored:
        want.setdefault(s.trace_id, set()).add(s.span_id)
        services.add(s.process.service_name)
    gone = list(gone)
    reader = backend.reader

    async def shown() -> bool:
        for trace_id, span_ids in want.items():
            trace = await reader.get_trace(trace_id)
            if trace is None or {s.span_id for s in trace.spans} != span_ids:
                return False
        for trace_id in gone:
            if await reader.get_trace(trace_id) is not None:
                return False
        return services <= set(await reader.get_services())

    await wait_for(shown, timeout=backend.caps.settle_timeout)
