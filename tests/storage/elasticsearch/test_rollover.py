"""es-rollover: Jaeger's names and time rules, then init/rollover/lookback and alias-mode reads
against the real node, through the library and through `pyjaeger es-rollover`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from pyjaeger.model import Process, Span
from pyjaeger.storage.base import TraceQuery
from pyjaeger.storage.elasticsearch import rollover, templates
from pyjaeger.storage.elasticsearch.client import make_client
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

SEC = 1_000_000
DAY = 24 * 3600 * SEC
ONE_NODE = rollover.TemplateOptions(shards=1, replicas=0)  # a one-node cluster stays green


# ------------------------------------------------------------------------- names and times


def _names(indices: list[rollover.ManagedIndex]) -> list[tuple[str, str, str, str, str]]:
    return [(i.kind, i.template_name, i.read_alias, i.write_alias, i.initial_index) for i in indices]


def test_managed_indices_match_jaegers_index_options_test() -> None:
    # Expected values from Jaeger v2.18.0 cmd/es-rollover/app/index_options_test.go.
    assert _names(rollover.managed_indices()) == [
        ("span", "jaeger-span", "jaeger-span-read", "jaeger-span-write", "jaeger-span-000001"),
        ("service", "jaeger-service", "jaeger-service-read", "jaeger-service-write", "jaeger-service-000001"),
        (
            "dependencies",
            "jaeger-dependencies",
            "jaeger-dependencies-read",
            "jaeger-dependencies-write",
            "jaeger-dependencies-000001",
        ),
    ]
    assert _names(rollover.managed_indices("mytenant", archive=True)) == [
        (
            "span",
            "mytenant-jaeger-span",
            "mytenant-jaeger-span-archive-read",
            "mytenant-jaeger-span-archive-write",
            "mytenant-jaeger-span-archive-000001",
        )
    ]
    assert [i.name for i in rollover.managed_indices(archive=True)] == ["jaeger-span-archive"]
    with_sampling = rollover.managed_indices("mytenant", adaptive_sampling=True)
    assert [i.name for i in with_sampling] == [
        "mytenant-jaeger-span",
        "mytenant-jaeger-service",
        "mytenant-jaeger-dependencies",
        "mytenant-jaeger-sampling",
    ]
    assert with_sampling[-1].template_name == "mytenant-jaeger-sampling"
    skipped = rollover.managed_indices("mytenant", skip_dependencies=True, adaptive_sampling=True)
    assert [i.kind for i in skipped] == ["span", "service", "sampling"]
    # The prefix is applied as the storage applies it, so es-rollover and the store agree.
    assert [i.name for i in rollover.managed_indices("mytenant-", skip_dependencies=True)] == [
        "mytenant-jaeger-span",
        "mytenant-jaeger-service",
    ]


NOW = datetime(2021, 10, 10, 10, 10, 10, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("unit", "count", "expected"),
    [  # Jaeger v2.18.0 cmd/es-rollover/app/lookback/time_reference_test.go
        ("seconds", 30, datetime(2021, 10, 10, 10, 9, 40, tzinfo=timezone.utc)),
        ("minutes", 30, datetime(2021, 10, 10, 9, 40, tzinfo=timezone.utc)),
        ("hours", 2, datetime(2021, 10, 10, 8, 0, tzinfo=timezone.utc)),
        ("days", 2, datetime(2021, 10, 9, tzinfo=timezone.utc)),
        ("weeks", 2, datetime(2021, 9, 27, tzinfo=timezone.utc)),
        ("months", 2, datetime(2021, 8, 10, tzinfo=timezone.utc)),
        ("years", 2, datetime(2019, 10, 10, tzinfo=timezone.utc)),
    ],
)
def test_time_reference(unit: str, count: int, expected: datetime) -> None:
    assert rollover.time_reference(NOW, unit, count) == expected


def test_time_reference_edges() -> None:
    # Go's AddDate normalises: 31 March minus one month is "31 February", i.e. 3 March.
    march31 = datetime(2021, 3, 31, 12, tzinfo=timezone.utc)
    assert rollover.time_reference(march31, "months", 1) == datetime(2021, 3, 3, tzinfo=timezone.utc)
    assert rollover.time_reference(march31, "months", 14) == datetime(2020, 1, 31, tzinfo=timezone.utc)
    leap = datetime(2024, 2, 29, tzinfo=timezone.utc)
    assert rollover.time_reference(leap, "years", 1) == datetime(2023, 3, 1, tzinfo=timezone.utc)
    # 1 day: everything created before today 00:00 UTC; a naive time is UTC
    assert rollover.time_reference(datetime(2021, 10, 10, 23, 59), "days", 1) == datetime(
        2021, 10, 10, tzinfo=timezone.utc
    )
    with pytest.raises(ValueError, match="unknown unit"):
        rollover.time_reference(NOW, "fortnights", 1)


def test_sampling_template_is_jaegers() -> None:
    # Jaeger v2.18.0 internal/storage/v1/elasticsearch/mappings/jaeger-sampling-{7,8}.json rendered
    # with prefix "p-", 2 shards, 1 replica, priority 4 and, for ILM, policy "pol".
    settings = {
        "index.number_of_shards": 2,
        "index.number_of_replicas": 1,
        "index.mapping.nested_fields.limit": 50,
        "index.requests.cache.enable": False,
    }
    args: dict[str, Any] = {"prefix": "p", "shards": 2, "replicas": 1, "priority": 4}
    v8 = templates.render_sampling_template(8, **args)
    assert json.dumps(v8) == json.dumps(
        {
            "priority": 4,
            "index_patterns": "p-jaeger-sampling-*",
            "template": {"settings": settings, "mappings": {}},
        }
    )
    v7 = templates.render_sampling_template(7, **args)
    assert v7 == {"index_patterns": "*jaeger-sampling-*", "settings": settings, "mappings": {}}
    ilm = templates.render_sampling_template(9, **args, ilm_policy="pol")
    lifecycle = {"name": "pol", "rollover_alias": "p-jaeger-sampling-write"}
    assert json.dumps(ilm) == json.dumps(
        {
            "priority": 4,
            "index_patterns": "p-jaeger-sampling-*",
            "template": {
                "aliases": {"p-jaeger-sampling-read": {}},
                "settings": {**settings, "lifecycle": lifecycle},
                "mappings": {},
            },
        }
    )
    assert templates.template_path("sampling", 8, "p") == "_index_template/p-jaeger-sampling"


# ------------------------------------------------------------------------- against the node


def _prefix() -> str:
    return f"pyjro-{uuid.uuid4().hex[:10]}"


def _cleanup(client: Elasticsearch, prefix: str) -> None:
    c = client.options(ignore_status=404)
    found = c.indices.get(index=f"{prefix}-jaeger-*", expand_wildcards="all")
    if found.body:
        c.indices.delete(index=",".join(found.body))
    for kind in templates.NAMED_KINDS:
        c.indices.delete_index_template(name=templates.template_name(kind, prefix))


@pytest.fixture
def node(elasticsearch: Any) -> Iterator[tuple[str, Elasticsearch, list[str]]]:
    """The node's URL, a sync client, and a list to put prefixes in: their indices and templates
    are deleted after the test."""
    url = str(elasticsearch.url)
    client = Elasticsearch(url, request_timeout=60)
    prefixes: list[str] = []
    try:
        yield url, client, prefixes
    finally:
        for prefix in prefixes:
            _cleanup(client, prefix)
        client.close()


@pytest.fixture
async def aclient(elasticsearch: Any) -> AsyncIterator[AsyncElasticsearch]:
    client = make_client([str(elasticsearch.url)], "", "", 60.0)
    yield client
    await client.close()


def _aliases(client: Elasticsearch, prefix: str) -> dict[str, dict[str, Any]]:
    """index → {alias: properties} for the prefix's indices."""
    found = client.indices.get_alias(index=f"{prefix}-jaeger-*")
    return {name: dict(info["aliases"]) for name, info in found.body.items()}


async def test_init_creates_jaegers_indices_aliases_and_templates(
    node: tuple[str, Elasticsearch, list[str]], aclient: AsyncElasticsearch
) -> None:
    _, client, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    indices = rollover.managed_indices(prefix)
    done = await rollover.init(aclient, indices, ONE_NODE)
    assert done.version == 8
    kinds = ("span", "service", "dependencies")
    assert done.templates == [f"{prefix}-jaeger-{k}" for k in kinds]
    assert done.created == [f"{prefix}-jaeger-{k}-000001" for k in kinds]
    # Jaeger adds both aliases to the first index, is_write_index only with ILM.
    assert _aliases(client, prefix) == {
        f"{prefix}-jaeger-{k}-000001": {f"{prefix}-jaeger-{k}-read": {}, f"{prefix}-jaeger-{k}-write": {}}
        for k in kinds
    }
    for kind in kinds:
        (installed,) = client.indices.get_index_template(name=f"{prefix}-jaeger-{kind}")["index_templates"]
        assert installed["index_template"]["index_patterns"] == [f"{prefix}-jaeger-{kind}-*"]
        want = templates.render_template(kind, 8, prefix=prefix, shards=1, replicas=0)
        # (Elasticsearch leaves out an empty mapping)
        assert installed["index_template"]["template"].get("mappings", {}) == want["template"]["mappings"]
        # The template applies to the rollover index: its mapping and settings are Jaeger's.
        settings = client.indices.get_settings(index=f"{prefix}-jaeger-{kind}-000001")
        index_settings = next(iter(settings.body.values()))["settings"]["index"]
        assert index_settings["number_of_shards"] == "1" and index_settings["number_of_replicas"] == "0"
    mapping = client.indices.get_mapping(index=f"{prefix}-jaeger-span-000001")
    properties = next(iter(mapping.body.values()))["mappings"]["properties"]
    assert properties["traceID"] == {"type": "keyword", "ignore_above": 256}
    assert properties["references"]["type"] == "nested"

    # Twice is harmless: nothing created, no alias added, the same aliases.
    before = _aliases(client, prefix)
    again = await rollover.init(aclient, indices, ONE_NODE)
    assert again.created == [] and again.aliases == []
    assert _aliases(client, prefix) == before


async def test_init_archive_and_sampling(
    node: tuple[str, Elasticsearch, list[str]], aclient: AsyncElasticsearch
) -> None:
    _, client, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    await rollover.init(aclient, rollover.managed_indices(prefix, archive=True), ONE_NODE)
    assert _aliases(client, prefix) == {
        f"{prefix}-jaeger-span-archive-000001": {
            f"{prefix}-jaeger-span-archive-read": {},
            f"{prefix}-jaeger-span-archive-write": {},
        }
    }
    await rollover.init(
        aclient, rollover.managed_indices(prefix, skip_dependencies=True, adaptive_sampling=True), ONE_NODE
    )
    assert set(_aliases(client, prefix)) == {
        f"{prefix}-jaeger-span-archive-000001",
        f"{prefix}-jaeger-span-000001",
        f"{prefix}-jaeger-service-000001",
        f"{prefix}-jaeger-sampling-000001",
    }
    (installed,) = client.indices.get_index_template(name=f"{prefix}-jaeger-sampling")["index_templates"]
    settings = installed["index_template"]["template"]["settings"]["index"]
    assert settings["requests"]["cache"]["enable"] == "false"


def _span(trace_id: int, start: int, service: str = "shop") -> Span:
    return Span(trace_id, 1, "GET /", [], 1, start, 1500, [], [], Process(service, []))


async def test_rollover_moves_writes_and_reads_cover_every_index(
    node: tuple[str, Elasticsearch, list[str]], aclient: AsyncElasticsearch
) -> None:
    url, client, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    indices = rollover.managed_indices(prefix)
    await rollover.init(aclient, indices, ONE_NODE)
    config = ElasticsearchConfig(
        server_urls=(url,), index_prefix=prefix, use_aliases=True, create_index_templates=False
    )
    store = await ElasticsearchStore.open(config)
    try:
        now = time.time_ns() // 1000
        first = _span(0xA1, now - 10 * SEC)
        await store.write_spans([first])
        await store.refresh()

        # Not rolled over while the condition does not hold.
        kept = await rollover.rollover(aclient, indices, {"max_docs": 2})
        assert [r.rolled_over for r in kept] == [False, False, False]

        rolled = await rollover.rollover(aclient, indices, {"max_docs": 1})
        # span and service indices hold a document each; dependencies none
        assert [(r.alias, r.rolled_over, r.old_index, r.new_index) for r in rolled] == [
            (
                f"{prefix}-jaeger-span-write",
                True,
                f"{prefix}-jaeger-span-000001",
                f"{prefix}-jaeger-span-000002",
            ),
            (
                f"{prefix}-jaeger-service-write",
                True,
                f"{prefix}-jaeger-service-000001",
                f"{prefix}-jaeger-service-000002",
            ),
            (
                f"{prefix}-jaeger-dependencies-write",
                False,
                f"{prefix}-jaeger-dependencies-000001",
                f"{prefix}-jaeger-dependencies-000002",
            ),
        ]
        aliases = _aliases(client, prefix)
        for kind in ("span", "service"):
            assert aliases[f"{prefix}-jaeger-{kind}-000001"] == {f"{prefix}-jaeger-{kind}-read": {}}
            assert aliases[f"{prefix}-jaeger-{kind}-000002"] == {
                f"{prefix}-jaeger-{kind}-read": {},
                f"{prefix}-jaeger-{kind}-write": {},
            }
        assert f"{prefix}-jaeger-dependencies-000002" not in aliases

        second = _span(0xA2, now - 5 * SEC, service="cart")
        await store.write_spans([second])
        await store.refresh()
        assert client.count(index=f"{prefix}-jaeger-span-000002")["count"] == 1
        for span in (first, second):
            trace = await store.get_trace(span.trace_id)
            assert trace is not None and [s.span_id for s in trace.spans] == [1]
        assert await store.get_services() == ["cart", "shop"]
        found = await store.find_traces(TraceQuery(start_time_min=now - 60 * SEC))
        assert sorted(t.spans[0].trace_id for t in found) == [0xA1, 0xA2]

        # lookback: nothing is older than today 00:00 ...
        assert await rollover.lookback(aclient, indices, unit="days", count=1) == []
        # ... but everything is, seen from two days on: the old indices leave the read alias, the
        # write indices stay (and nothing is deleted).
        later = datetime.now(timezone.utc) + timedelta(days=2)
        removed = await rollover.lookback(aclient, indices, unit="days", count=1, now=later)
        assert removed == [
            (f"{prefix}-jaeger-span-read", f"{prefix}-jaeger-span-000001"),
            (f"{prefix}-jaeger-service-read", f"{prefix}-jaeger-service-000001"),
        ]
        aliases = _aliases(client, prefix)
        assert aliases[f"{prefix}-jaeger-span-000001"] == {}
        assert await store.get_trace(first.trace_id) is None  # out of the read alias
        assert await store.get_trace(second.trace_id) is not None
        assert await store.get_services() == ["cart"]
    finally:
        await store.close()


async def test_alias_reads_follow_jaegers_window(
    node: tuple[str, Elasticsearch, list[str]], aclient: AsyncElasticsearch
) -> None:
    """With aliases the look-back is 50 years whatever --es.max-span-age says, and a whole-trace
    read ends 24h after now."""
    url, _, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    await rollover.init(aclient, rollover.managed_indices(prefix), ONE_NODE)
    config = ElasticsearchConfig(
        server_urls=(url,), index_prefix=prefix, use_aliases=True, create_index_templates=False
    )
    store = await ElasticsearchStore.open(config)
    try:
        now = time.time_ns() // 1000
        spans = [
            _span(0xB1, now - 10 * 365 * DAY),
            _span(0xB2, now + 23 * 3600 * SEC),
            _span(0xB3, now + 2 * DAY),
        ]
        await store.write_spans(spans)
        await store.refresh()
        assert await store.get_trace(0xB1) is not None  # ten years old: far past the 72h default
        assert await store.get_trace(0xB2) is not None
        assert await store.get_trace(0xB3) is None
        assert await store.find_trace_ids(TraceQuery("shop")) == [0xB1]  # window ends now
    finally:
        await store.close()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyjaeger", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_init_rollover_lookback_and_cleaner(node: tuple[str, Elasticsearch, list[str]]) -> None:
    url, client, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    env = {"INDEX_PREFIX": prefix, "SHARDS": "1", "REPLICAS": "0", "SKIP_DEPENDENCIES": "true"}
    init = _run("es-rollover", "init", url, env=env)
    assert init.returncode == 0, init.stderr
    assert f"created {prefix}-jaeger-span-000001" in init.stdout.splitlines()
    assert set(_aliases(client, prefix)) == {
        f"{prefix}-jaeger-span-000001",
        f"{prefix}-jaeger-service-000001",
    }

    client.index(index=f"{prefix}-jaeger-span-write", document={"traceID": "1"}, refresh=True)
    kept = _run("es-rollover", "rollover", url, env=env)  # default {"max_age": "2d"}: too young
    assert kept.returncode == 0, kept.stderr
    assert (
        f"kept {prefix}-jaeger-span-write on {prefix}-jaeger-span-000001: conditions not met" in kept.stdout
    )
    rolled = _run("es-rollover", "rollover", url, env={**env, "CONDITIONS": '{"max_docs": 1}'})
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines() == [
        f"rolled over {prefix}-jaeger-span-write: {prefix}-jaeger-span-000001 -> {prefix}-jaeger-span-000002",
        f"kept {prefix}-jaeger-service-write on {prefix}-jaeger-service-000001: conditions not met",
    ]
    aliases = _aliases(client, prefix)
    assert set(aliases[f"{prefix}-jaeger-span-000001"]) == {f"{prefix}-jaeger-span-read"}

    # Flags win over the environment: 0 days back from tomorrow 00:00 is everything.
    nothing = _run("es-rollover", "lookback", url, env={**env, "UNIT": "years"})
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.strip() == "no indices to remove from the read aliases"
    lookback = _run("es-rollover", "lookback", url, "--unit", "days", "--unit-count", "0", env=env)
    assert lookback.returncode == 0, lookback.stderr
    assert lookback.stdout.splitlines() == [
        f"removed {prefix}-jaeger-span-000001 from {prefix}-jaeger-span-read"
    ]

    # The cleaner deletes the rolled-over index, never one holding a write alias.
    cleaned = _run("es-index-cleaner", "0", url, "--rollover", env={"INDEX_PREFIX": prefix})
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.splitlines() == [f"deleted {prefix}-jaeger-span-000001"]
    assert set(_aliases(client, prefix)) == {
        f"{prefix}-jaeger-span-000002",
        f"{prefix}-jaeger-service-000001",
    }
    # init after the cleaner does not bring back an empty 000001 beside the write index.
    again = _run("es-rollover", "init", url, env=env)
    assert again.returncode == 0, again.stderr
    assert not any(line.startswith("created") for line in again.stdout.splitlines())


def test_cli_unreachable_url() -> None:
    for action in ("init", "rollover", "lookback"):
        result = _run("es-rollover", action, "http://127.0.0.1:1")
        assert result.returncode == 1
        assert "cannot connect to http://127.0.0.1:1" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--conditions", "{max_age: 2d}"], {}, "argument --conditions: not JSON"),
        (["--conditions", '["max_age"]'], {}, "argument --conditions: must be a JSON object"),
        ([], {"CONDITIONS": "nope"}, "CONDITIONS='nope': not JSON"),
        ([], {"TIMEOUT": "soon"}, "TIMEOUT='soon'"),
        ([], {"ARCHIVE": "maybe"}, "ARCHIVE='maybe': not a boolean"),
    ],
)
def test_cli_bad_input_is_a_usage_error(args: list[str], env: dict[str, str], message: str) -> None:
    result = _run("es-rollover", "rollover", "http://127.0.0.1:1", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: pyjaeger es-rollover rollover" in result.stderr


def test_cli_bad_lookback_unit() -> None:
    from pyjaeger.cmd import es_rollover as es_rollover_cli

    assert es_rollover_cli._UNITS == rollover.UNITS  # the parser's copy
    result = _run("es-rollover", "lookback", "http://127.0.0.1:1", "--unit", "fortnights")
    assert result.returncode == 2 and "invalid choice: 'fortnights'" in result.stderr
    result = _run("es-rollover", "lookback", "http://127.0.0.1:1", env={"UNIT": "fortnights"})
    assert result.returncode == 2 and "UNIT='fortnights': must be one of" in result.stderr


def test_cli_ilm_needs_an_existing_policy(node: tuple[str, Elasticsearch, list[str]]) -> None:
    # The test distribution has no ILM module, so Jaeger's ILM path can only be seen to stop at
    # its policy check here; the ILM template bodies are checked in test_templates.py.
    url, client, prefixes = node
    prefix = _prefix()
    prefixes.append(prefix)
    result = _run("es-rollover", "init", url, "--es.use-ilm", env={"INDEX_PREFIX": prefix})
    assert result.returncode == 1
    assert "es-rollover init: --es.use-ilm: the cluster has no ILM API" in result.stderr
    assert "_ilm/policy/jaeger-ilm-policy" in result.stderr
    assert "Traceback" not in result.stderr
    assert _aliases(client, prefix) == {}
