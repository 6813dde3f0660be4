"""The Elasticsearch store against a real node: what lands in the cluster is Jaeger's layout.

Index names, installed templates and raw documents are compared with `indices`, `templates` and
`dbmodel`, the modules that hold Jaeger's schema; the conformance suite covers the behaviour.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from pyjaeger.cmd import cli
from pyjaeger.errors import ConfigError
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType
from pyjaeger.storage.base import StorageError, TraceQuery
from pyjaeger.storage.elasticsearch import templates
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig, TagsAsFields
from pyjaeger.storage.elasticsearch.dbmodel import service_doc_id, span_to_doc
from pyjaeger.storage.elasticsearch.indices import DAILY, service_index, span_index
from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

SEC = 1_000_000
DAY = 24 * 3600 * SEC
NOW = (int(time.time()) // 60 * 60 - 600) * SEC

Opener = Callable[..., Coroutine[Any, Any, ElasticsearchStore]]


def _span(trace_id: int, span_id: int, start: int, service: str = "shop", op: str = "GET /") -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        operation_name=op,
        references=[SpanRef(SpanRefType.CHILD_OF, trace_id, 0x99)] if span_id != 1 else [],
        flags=1,
        start_time=start,
        duration=1500,
        tags=[
            KeyValue("http.method", ValueType.STRING, "GET"),
            KeyValue("http.status_code", ValueType.INT64, 200),
            KeyValue("payload", ValueType.BINARY, b"\x01\x02"),
        ],
        logs=[Log(start + 10, [KeyValue("event", ValueType.STRING, "hit")])],
        process=Process(service, [KeyValue("host.name", ValueType.STRING, "h-1")]),
    )


@pytest.fixture
async def open_store(storage_elasticsearch: str) -> AsyncIterator[Opener]:
    """Opens stores with a private index prefix; deletes their indices and templates after."""
    url = storage_elasticsearch
    opened: list[ElasticsearchStore] = []

    async def open_(**overrides: Any) -> ElasticsearchStore:
        fields: dict[str, Any] = {
            "server_urls": (url,),
            "index_prefix": f"pyjt-{uuid.uuid4().hex[:12]}",
            "num_shards": 1,
            "num_replicas": 0,
        }
        fields.update(overrides)
        store = await ElasticsearchStore.open(ElasticsearchConfig(**fields))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        prefix = store.config.index_prefix
        client = store.client.options(ignore_status=404)
        found = await client.indices.get(index=f"{prefix}-jaeger-*")
        if found.body:
            await client.indices.delete(index=",".join(found.body))
        for kind in ("span", "service"):
            await client.indices.delete_index_template(name=f"{prefix}-jaeger-{kind}")
        await store.close()


async def test_version_detected(open_store: Opener) -> None:
    store = await open_store()
    assert store.version == 8


async def test_index_names(open_store: Opener) -> None:
    store = await open_store()
    prefix = store.config.index_prefix
    spans = [_span(0xA1, 1, NOW), _span(0xA2, 1, NOW - 2 * DAY)]
    await store.write_spans(spans)
    await store.refresh()
    found = await store.client.indices.get(index=f"{prefix}-jaeger-*")
    expected = {span_index(prefix, DAILY, s.start_time) for s in spans}
    expected |= {service_index(prefix, DAILY, s.start_time) for s in spans}
    assert set(found.body) == expected
    assert all(name.startswith(f"{prefix}-jaeger-") for name in expected)


async def test_templates_installed(open_store: Opener) -> None:
    store = await open_store()
    prefix = store.config.index_prefix
    for kind in ("span", "service"):
        name = templates.template_name(kind, prefix)
        resp = await store.client.indices.get_index_template(name=name)
        (installed,) = resp["index_templates"]
        body = installed["index_template"]
        want = templates.render_template(kind, 8, prefix=prefix, shards=1, replicas=0)
        patterns = want["index_patterns"]
        assert body["index_patterns"] == ([patterns] if isinstance(patterns, str) else patterns)
        assert body["template"]["mappings"] == want["template"]["mappings"]
        settings = body["template"]["settings"]["index"]
        assert settings["number_of_shards"] == "1" and settings["number_of_replicas"] == "0"


async def test_templates_not_created_when_disabled(open_store: Opener) -> None:
    store = await open_store(create_index_templates=False)
    name = templates.template_name("span", store.config.index_prefix)
    resp = await store.client.options(ignore_status=404).indices.get_index_template(name=name)
    assert resp.meta.status == 404


async def test_raw_documents_have_jaegers_fields(open_store: Opener) -> None:
    store = await open_store()
    prefix = store.config.index_prefix
    span = _span((1 << 64) | 0xB1, 2, NOW)
    await store.write_spans([span])
    await store.refresh()
    resp = await store.client.search(index=span_index(prefix, DAILY, NOW), query={"match_all": {}})
    (hit,) = resp["hits"]["hits"]
    assert hit["_source"] == span_to_doc(span)
    assert hit["_source"]["traceID"] == "0000000000000001" + "00000000000000b1"
    assert set(hit["_source"]) == {
        "traceID",
        "spanID",
        "flags",
        "operationName",
        "references",
        "startTime",
        "startTimeMillis",
        "duration",
        "tags",
        "logs",
        "process",
    }
    doc = await store.client.get(index=service_index(prefix, DAILY, NOW), id=service_doc_id("shop", "GET /"))
    assert doc["_source"] == {"serviceName": "shop", "operationName": "GET /"}


async def test_tags_as_fields(open_store: Opener) -> None:
    store = await open_store(tags_as_fields=TagsAsFields(all=True))
    prefix = store.config.index_prefix
    span = _span(0xC1, 1, NOW)
    await store.write_spans([span])
    await store.refresh()
    resp = await store.client.search(index=span_index(prefix, DAILY, NOW), query={"match_all": {}})
    (hit,) = resp["hits"]["hits"]
    source = hit["_source"]
    assert source["tag"] == {"http@method": "GET", "http@status_code": 200}
    assert source["tags"] == [{"key": "payload", "type": "binary", "value": "0102"}]  # binary stays nested
    assert source["process"]["tag"] == {"host@name": "h-1"}
    # Search finds tags stored as fields; reads merge them back.
    for tags in ({"http.method": "GET"}, {"http.status_code": "200"}, {"host.name": "h-1"}):
        assert await store.find_trace_ids(TraceQuery("shop", tags=tags)) == [0xC1]
    assert await store.find_trace_ids(TraceQuery("shop", tags={"http.method": "POST"})) == []
    trace = await store.get_trace(0xC1)
    assert trace is not None
    (got,) = trace.spans
    assert sorted(got.tags, key=lambda kv: kv.key) == sorted(span.tags, key=lambda kv: kv.key)
    assert got.process.tags == span.process.tags


async def test_tags_as_fields_config_file(open_store: Opener, tmp_path: Path) -> None:
    # Jaeger's file: one key a line, trimmed, blank lines skipped; merged with .include.
    keys = tmp_path / "tag-keys.txt"
    keys.write_text("  http.method \r\n\n\t\nhost.name\n")
    taf = TagsAsFields(include=frozenset({"http.status_code"}), config_file=str(keys))
    store = await open_store(tags_as_fields=taf)
    assert store.config.tags_as_fields.include == {"http.method", "http.status_code", "host.name"}
    prefix = store.config.index_prefix
    await store.write_spans([_span(0xC2, 1, NOW)])
    await store.refresh()
    resp = await store.client.search(index=span_index(prefix, DAILY, NOW), query={"match_all": {}})
    (hit,) = resp["hits"]["hits"]
    source = hit["_source"]
    assert source["tag"] == {"http@method": "GET", "http@status_code": 200}
    assert source["process"]["tag"] == {"host@name": "h-1"}
    assert [kv["key"] for kv in source["tags"]] == ["payload"]
    for tags in ({"http.method": "GET"}, {"host.name": "h-1"}):
        assert await store.find_trace_ids(TraceQuery("shop", tags=tags)) == [0xC2]


def test_tags_as_fields_config_file_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "no-such-file.txt")
    message = f"--es.tags-as-fields.config-file: cannot read {missing!r}"
    with pytest.raises(ConfigError, match=re.escape(message)):
        ElasticsearchConfig(tags_as_fields=TagsAsFields(config_file=missing)).validate()
    with pytest.raises(ConfigError, match=re.escape("--es.tags-as-fields.config-file: cannot read")):
        ElasticsearchConfig(tags_as_fields=TagsAsFields(config_file=str(tmp_path))).validate()
    # The CLI reports it as a usage error before anything starts.
    argv = ["all-in-one", "--span-storage.type=elasticsearch", f"--es.tags-as-fields.config-file={missing}"]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv, environ={})
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


async def test_write_fails_with_storage_error_when_unreachable() -> None:
    config = ElasticsearchConfig(
        server_urls=("http://127.0.0.1:1",), version=8, create_index_templates=False, max_retries=1
    )
    store = ElasticsearchStore(config)
    try:
        with pytest.raises(StorageError):
            await store.write_spans([_span(0xD1, 1, NOW)])
        with pytest.raises(StorageError):
            await store.get_services()
    finally:
        await store.close()
        await store.close()  # twice is fine


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"server_urls": ()}, "--es.server-urls"),
        ({"server_urls": ("localhost:9200",)}, "--es.server-urls"),
        ({"num_shards": 0}, "--es.num-shards"),
        ({"max_doc_count": 0}, "--es.max-doc-count"),
        ({"bulk_actions": 0}, "--es.bulk.actions"),
        ({"version": 6}, "--es.version"),
        ({"index_date_separator": "*"}, "--es.index-date-separator"),
        ({"tags_as_fields": TagsAsFields(dot_replacement=".")}, "--es.tags-as-fields.dot-replacement"),
    ],
)
def test_config_validate_names_the_flag(overrides: dict[str, Any], flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        ElasticsearchConfig(**overrides).validate()


@pytest.mark.parametrize("limits", [{"bulk_actions": 2}, {"bulk_size": 600}])
async def test_bulk_split_past_limits(open_store: Opener, limits: dict[str, int]) -> None:
    store = await open_store(**limits)
    spans = [_span(0xE0 + i, 1, NOW + i * SEC, op=f"op-{i}") for i in range(5)]
    await store.write_spans(spans)
    await store.refresh()
    prefix = store.config.index_prefix
    assert (await store.client.count(index=f"{prefix}-jaeger-span-*"))["count"] == 5
    assert (await store.client.count(index=f"{prefix}-jaeger-service-*"))["count"] == 5
    assert await store.find_trace_ids(TraceQuery("shop", num_traces=0)) == [s.trace_id for s in spans[::-1]]


async def test_concurrent_writes_share_bulk_requests(open_store: Opener) -> None:
    store = await open_store(bulk_workers=1)
    client = store.client
    requests: list[int] = []
    send = client.bulk

    async def counting_bulk(**kw: Any) -> Any:  # the real call, counted
        requests.append(1)
        return await send(**kw)

    client.bulk = counting_bulk  # type: ignore[method-assign]
    spans = [_span(0xB000 + i, 1, NOW, op=f"op-{i % 3}") for i in range(40)]
    await asyncio.gather(*(store.write_spans([s]) for s in spans))
    # Writes that arrive together, or while a request is in flight, share the next request.
    assert len(requests) <= 2
    await store.refresh()
    for s in spans:
        trace = await store.get_trace(s.trace_id)
        assert trace is not None and len(trace.spans) == 1


async def test_a_refused_document_fails_only_its_own_write(open_store: Opener) -> None:
    store = await open_store(bulk_workers=1)
    await store.write_spans([_span(0xC1, 1, NOW - 3 * DAY), _span(0xC2, 1, NOW)])
    closed = span_index(store.config.index_prefix, DAILY, NOW - 3 * DAY)
    await store.client.indices.close(index=closed)  # writes to it now fail with 400
    first = asyncio.ensure_future(store.write_spans([_span(0xC3, 1, NOW)]))  # takes the one slot
    await asyncio.sleep(0)
    bad = asyncio.ensure_future(store.write_spans([_span(0xC4, 1, NOW - 3 * DAY)]))
    good = asyncio.ensure_future(store.write_spans([_span(0xC5, 1, NOW)]))  # same request as `bad`
    results = await asyncio.gather(first, bad, good, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageError) and not results[1].transient
    assert "closed" in str(results[1])
    await store.client.indices.open(index=closed)
    await store.refresh()
    assert await store.get_trace(0xC5) is not None
    assert await store.get_trace(0xC4) is None


async def test_a_closed_store_refuses_writes(storage_elasticsearch: str) -> None:
    config = ElasticsearchConfig(
        server_urls=(storage_elasticsearch,), index_prefix=f"pyjt-{uuid.uuid4().hex[:12]}"
    )
    store = ElasticsearchStore(config)
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.write_spans([_span(0xD1, 1, NOW)])
