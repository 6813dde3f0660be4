"""es-dependencies: the daily links job against the real node, as a function and as the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from pyjaeger.model import DependencyLink, Process, Span, SpanRef, SpanRefType
from pyjaeger.storage.elasticsearch import templates
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.dependencies_job import (
    compute_and_write,
    day_start_us,
    dependencies_doc,
    doc_id,
)
from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

DAY = date(2024, 3, 9)
DAY_US = 24 * 3600 * 1_000_000
MS = 1000

# What DAY's spans make, by the reader's rule (parent by CHILD_OF else FOLLOWS_FROM, other
# service only): three checkout traces and one with a FOLLOWS_FROM consumer.
DAY_LINKS = [
    DependencyLink("frontend", "payment", 4),
    DependencyLink("frontend", "worker", 1),
    DependencyLink("payment", "mysql", 3),
]


def _span(trace: int, span_id: int, service: str, start: int, parent: int = 0, follows: int = 0) -> Span:
    refs = []
    if parent:
        refs.append(SpanRef(SpanRefType.CHILD_OF, trace, parent))
    if follows:
        refs.append(SpanRef(SpanRefType.FOLLOWS_FROM, trace, follows))
    return Span(trace, span_id, f"op-{span_id}", refs, 1, start, 5 * MS, [], [], Process(service, []))


def _day_spans(day_start: int) -> list[Span]:
    spans: list[Span] = []
    for i in range(3):
        t = day_start + (i + 1) * 3600 * 1_000_000  # 01:00, 02:00, 03:00 UTC
        tid = (0xD0 << 64) | i if i % 2 else 0xD0 + i  # 128- and 64-bit ids
        spans += [
            _span(tid, 1, "frontend", t),
            _span(tid, 2, "payment", t + 1 * MS, parent=1),
            _span(tid, 3, "mysql", t + 2 * MS, parent=2),
            _span(tid, 4, "frontend", t + 3 * MS, parent=1),  # same service: no link
        ]
    t = day_start + DAY_US - 1  # the day's last µs: still this day
    spans += [
        _span(0xD9, 1, "frontend", t - 10),
        _span(0xD9, 2, "payment", t - 5, parent=1),
        _span(0xD9, 3, "worker", t, follows=1),
        _span(0xD9, 4, "ghost", t, parent=0x77),  # parent never stored: no link
    ]
    return spans


def _config(url: str, prefix: str, **kw: Any) -> ElasticsearchConfig:
    return ElasticsearchConfig(server_urls=(url,), index_prefix=prefix, num_shards=1, num_replicas=0, **kw)


async def _cleanup(client: AsyncElasticsearch, prefix: str) -> None:
    quiet = client.options(ignore_status=404)
    found = await quiet.indices.get(index=f"{prefix}-jaeger-*", expand_wildcards="all")
    if found.body:
        await quiet.indices.delete(index=",".join(found.body))
    for kind in templates.KINDS:
        await quiet.indices.delete_index_template(name=templates.template_name(kind, prefix))


@pytest.fixture
async def store(elasticsearch: Any) -> AsyncIterator[ElasticsearchStore]:
    """A store with a private prefix, holding DAY's spans and a few of today's."""
    prefix = f"pyjdeps-{uuid.uuid4().hex[:10]}"
    store = await ElasticsearchStore.open(_config(str(elasticsearch.url), prefix))
    try:
        today = day_start_us(datetime.now(timezone.utc).date())
        await store.write_spans(_day_spans(day_start_us(DAY)))
        await store.write_spans(
            [_span(0xE1, 1, "today-a", today + 1), _span(0xE1, 2, "today-b", today + 2, parent=1)]
        )
        await store.refresh()
        yield store
    finally:
        await _cleanup(store.client, prefix)
        await store.close()


def _window(day: date) -> tuple[int, int]:
    """(end_ts, lookback) of the query API's window covering the day."""
    return day_start_us(day) + DAY_US - 1, DAY_US - 1


# ---------------------------------------------------------------------------------------------
# The pure parts


def test_document_is_sparks() -> None:
    assert dependencies_doc(DAY, [DependencyLink("a", "b", 3)]) == {
        "dependencies": [{"parent": "a", "child": "b", "callCount": 3, "source": "jaeger"}],
        "timestamp": "2024-03-09T00:00:00Z",
    }
    assert doc_id(DAY) == "2024-03-09"
    assert day_start_us(DAY) == int(datetime(2024, 3, 9, tzinfo=timezone.utc).timestamp()) * 1_000_000


# ---------------------------------------------------------------------------------------------
# Against the node


async def test_job_writes_one_jaeger_document(store: ElasticsearchStore) -> None:
    config = store.config
    client = store.client
    prefix = config.index_prefix
    # Pages of 3 spans: traces of 4 spans are cut by page boundaries.
    result = await compute_and_write(client, config, DAY, page_size=3)
    assert result.written
    assert result.links == DAY_LINKS
    assert (result.traces, result.spans) == (4, 16)  # today's spans are not DAY's
    index = f"{prefix}-jaeger-dependencies-2024-03-09"
    assert result.index == index

    hits = (await client.search(index=index, query={"match_all": {}}))["hits"]["hits"]
    assert len(hits) == 1
    assert hits[0]["_id"] == "2024-03-09"
    assert hits[0]["_source"] == {
        "dependencies": [
            {"parent": "frontend", "child": "payment", "callCount": 4, "source": "jaeger"},
            {"parent": "frontend", "child": "worker", "callCount": 1, "source": "jaeger"},
            {"parent": "payment", "child": "mysql", "callCount": 3, "source": "jaeger"},
        ],
        "timestamp": "2024-03-09T00:00:00Z",
    }

    # Jaeger's template (no mappings: dynamic ones) was installed and gave the index its settings;
    # `timestamp` is a date, which Jaeger's range query on it needs.
    name = templates.template_name("dependencies", prefix)
    installed = (await client.indices.get_index_template(name=name))["index_templates"][0]["index_template"]
    assert installed["index_patterns"] == [f"{prefix}-jaeger-dependencies-*"]
    settings = (await client.indices.get_settings(index=index))[index]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("1", "0")
    props = (await client.indices.get_mapping(index=index))[index]["mappings"]["properties"]
    assert props["timestamp"]["type"] == "date"
    link_props = props["dependencies"]["properties"]
    assert link_props["callCount"]["type"] == "long"
    assert link_props["parent"]["fields"]["keyword"]["type"] == "keyword"

    # The reader now answers from the stored document: with the spans gone it still has them.
    await client.indices.delete(index=f"{prefix}-jaeger-span-*")
    assert await store.get_dependencies(*_window(DAY)) == DAY_LINKS


async def test_rerun_replaces(store: ElasticsearchStore) -> None:
    config, client = store.config, store.client
    index = f"{config.index_prefix}-jaeger-dependencies-2024-03-09"
    await compute_and_write(client, config, DAY)
    # one more frontend → payment call, then the day again
    t = day_start_us(DAY) + 3600 * 1_000_000
    await store.write_spans([_span(0xF1, 1, "frontend", t), _span(0xF1, 2, "payment", t + 1, parent=1)])
    await store.refresh()
    second = await compute_and_write(client, config, DAY)
    assert second.links[0] == DependencyLink("frontend", "payment", 5)
    assert (await client.count(index=index))["count"] == 1
    assert await store.get_dependencies(*_window(DAY)) == second.links

    # A rerun after the spans are gone finds no links and takes the stale ones away.
    await client.indices.delete(index=f"{config.index_prefix}-jaeger-span-*")
    third = await compute_and_write(client, config, DAY)
    assert (third.written, third.links, third.traces) == (False, [], 0)
    assert (await client.count(index=index))["count"] == 0
    assert await store.get_dependencies(*_window(DAY)) == []


async def test_day_without_spans_writes_nothing(store: ElasticsearchStore) -> None:
    """As spark: no links, no document, and no index or template created for it."""
    config, client = store.config, store.client
    empty_day = DAY - timedelta(days=1)
    result = await compute_and_write(client, config, empty_day)
    assert (result.written, result.links, result.spans) == (False, [], 0)
    assert not await client.indices.exists(index=f"{config.index_prefix}-jaeger-dependencies-2024-03-08")
    name = templates.template_name("dependencies", config.index_prefix)
    assert not await client.indices.exists_index_template(name=name)


async def test_existing_template_is_kept(store: ElasticsearchStore) -> None:
    """An operator's (or es-rollover's) template of that name is not replaced."""
    config, client = store.config, store.client
    name = templates.template_name("dependencies", config.index_prefix)
    await client.indices.put_index_template(
        name=name,
        index_patterns=[f"{config.index_prefix}-jaeger-dependencies-*"],
        template={"settings": {"number_of_shards": 2, "number_of_replicas": 0}},
    )
    result = await compute_and_write(client, config, DAY)
    settings = (await client.indices.get_settings(index=result.index))[result.index]["settings"]["index"]
    assert settings["number_of_shards"] == "2"


async def test_aliases(elasticsearch: Any) -> None:
    """With --es.use-aliases: spans read through `-read` (bounded to the day), links written
    through `-write`, read back by the reader through `-read`."""
    prefix = f"pyjdeps-{uuid.uuid4().hex[:10]}"
    config = _config(str(elasticsearch.url), prefix, use_aliases=True)
    store = ElasticsearchStore(config)
    client = store.client
    try:
        await store.start()  # the templates first: they map the indices created next
        for kind in ("span", "service", "dependencies"):
            read, write = f"{prefix}-jaeger-{kind}-read", f"{prefix}-jaeger-{kind}-write"
            aliases = {read: {}, write: {"is_write_index": True}}
            await client.indices.create(index=f"{prefix}-jaeger-{kind}-000001", aliases=aliases)
        await store.write_spans(_day_spans(day_start_us(DAY)))
        after = day_start_us(DAY) + DAY_US  # the next day, in the same alias: not counted
        await store.write_spans([_span(0xE2, 1, "next-a", after), _span(0xE2, 2, "next-b", after, parent=1)])
        await client.indices.refresh(index=f"{prefix}-jaeger-*")
        result = await compute_and_write(client, config, DAY)
        assert result.index == f"{prefix}-jaeger-dependencies-write"
        assert result.links == DAY_LINKS
        hits = (await client.search(index=f"{prefix}-jaeger-dependencies-read"))["hits"]["hits"]
        assert [(h["_index"], h["_id"]) for h in hits] == [
            (f"{prefix}-jaeger-dependencies-000001", "2024-03-09")
        ]
        await client.indices.delete(index=f"{prefix}-jaeger-span-000001")  # the spans go
        assert await store.get_dependencies(*_window(DAY)) == DAY_LINKS
    finally:
        await _cleanup(client, prefix)
        await store.close()


# ---------------------------------------------------------------------------------------------
# The CLI


_JOB_ENV = ("DATE", "STORAGE", "SHARDS", "REPLICAS", "TIMEOUT")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The job in a child process, with only the job's variables the test gives it."""
    base = {k: v for k, v in os.environ.items() if k not in _JOB_ENV and not k.startswith("ES_")}
    return subprocess.run(
        [sys.executable, "-m", "pyjaeger", "es-dependencies", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
    )


async def test_cli(store: ElasticsearchStore, elasticsearch: Any) -> None:
    config, client = store.config, store.client
    url = str(elasticsearch.url)
    index = f"{config.index_prefix}-jaeger-dependencies-2024-03-09"
    spark_env = {"ES_INDEX_PREFIX": config.index_prefix, "SHARDS": "1", "REPLICAS": "0"}
    result = _cli("2024-03-09", url, env=spark_env)
    assert result.returncode == 0, result.stderr
    assert f"3 links from 4 traces (16 spans) written to {index}" in result.stdout
    assert "frontend -> payment: 4" in result.stdout

    # Spark's environment alone: DATE, and ES_NODES without a scheme.
    host = url.removeprefix("http://")
    result = _cli(env={**spark_env, "DATE": "2024-03-09", "ES_NODES": host, "STORAGE": "elasticsearch"})
    assert result.returncode == 0, result.stderr
    assert (await client.count(index=index))["count"] == 1
    got = await client.get(index=index, id="2024-03-09")
    assert got["_source"]["dependencies"][0] == {
        "parent": "frontend",
        "child": "payment",
        "callCount": 4,
        "source": "jaeger",
    }

    # No DATE: today (UTC), whose two spans make one link.
    result = _cli(url, env=spark_env)
    assert result.returncode == 0, result.stderr
    assert "today-a -> today-b: 1" in result.stdout


def test_cli_connection_error() -> None:
    result = _cli("2024-03-09", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert "cannot connect to http://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["2024-02-30", "http://127.0.0.1:1"], {}, "DATE '2024-02-30'"),
        (["09.03.2024", "http://127.0.0.1:1"], {}, "expected yyyy-MM-dd"),
        ([], {"DATE": "tomorrow", "ES_NODES": "127.0.0.1:1"}, "DATE 'tomorrow'"),
        (["http://127.0.0.1:1"], {"STORAGE": "cassandra"}, "Elasticsearch only"),
    ],
)
def test_cli_usage_errors(args: list[str], env: dict[str, str], message: str) -> None:
    result = _cli(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("node", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9200"),
        ("es.example:9201", "http://es.example:9201"),
        ("https://es.example", "https://es.example:9200"),
        ("https://es.example:443/proxy", "https://es.example:443/proxy"),
        (" [::1] ", "http://[::1]:9200"),
    ],
)
def test_es_nodes_entries(node: str, url: str) -> None:
    """Spark's ES_NODES entries may leave out the scheme and the port (9200)."""
    from pyjaeger.cmd.es_dependencies import _node_url

    assert _node_url(node) == url
