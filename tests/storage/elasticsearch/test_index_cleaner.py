"""es-index-cleaner: Jaeger's selection rules, and the CLI against the real node."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pyjaeger.storage.elasticsearch.index_cleaner import cutoff, indices_to_delete

NOW = datetime(2024, 3, 10, 15, 30, tzinfo=timezone.utc)


def _select(names: list[str], days: int = 1, **kw: Any) -> list[str]:
    return indices_to_delete(names, now=NOW, days=days, **kw)


def test_cutoff_is_tomorrow_midnight_minus_days() -> None:
    assert cutoff(NOW, 1) == datetime(2024, 3, 10, tzinfo=timezone.utc)
    assert cutoff(NOW, 0) == datetime(2024, 3, 11, tzinfo=timezone.utc)
    assert cutoff(NOW, 10) == datetime(2024, 3, 1, tzinfo=timezone.utc)
    # a naive or non-UTC "now" is taken in UTC
    plus2 = timezone(timedelta(hours=2))
    assert cutoff(datetime(2024, 3, 11, 1, 0, tzinfo=plus2), 1) == datetime(2024, 3, 10, tzinfo=timezone.utc)
    assert cutoff(datetime(2024, 3, 10, 23, 59), 1) == datetime(2024, 3, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, ["jaeger-span-2024-03-08", "jaeger-span-2024-03-09", "jaeger-span-2024-03-10"]),
        (1, ["jaeger-span-2024-03-08", "jaeger-span-2024-03-09"]),
        (2, ["jaeger-span-2024-03-08"]),
        (3, []),
    ],
)
def test_days_boundary(days: int, expected: list[str]) -> None:
    names = [f"jaeger-span-2024-03-{d:02d}" for d in (8, 9, 10, 11)]
    assert _select(names, days) == expected


def test_every_kind_and_only_jaeger_names() -> None:
    names = [
        "jaeger-span-2024-01-01",
        "jaeger-service-2024-01-01",
        "jaeger-dependencies-2024-01-01",
        "jaeger-sampling-2024-01-01",
        "jaeger-span-2024-01-01-05",  # hourly rollover frequency: Jaeger's regex is unanchored
        "jaeger-other-2024-01-01",
        "jaeger-span-archive",
        "jaeger-span-write",
        "jaeger-span-000001",
        "jaeger-span-2024-13-40",  # not a date
        "myjaeger-span-2024-01-01",
        ".kibana",
    ]
    assert _select(names) == [
        "jaeger-dependencies-2024-01-01",
        "jaeger-sampling-2024-01-01",
        "jaeger-service-2024-01-01",
        "jaeger-span-2024-01-01",
        "jaeger-span-2024-01-01-05",
    ]


def test_prefix() -> None:
    names = ["prod-jaeger-span-2024-01-01", "jaeger-span-2024-01-01", "dev-jaeger-span-2024-01-01"]
    assert _select(names, prefix="prod") == ["prod-jaeger-span-2024-01-01"]
    assert _select(names, prefix="prod-") == ["prod-jaeger-span-2024-01-01"]  # Jaeger's IndexPrefix
    assert _select(names) == ["jaeger-span-2024-01-01"]
    assert _select(["a.b-jaeger-span-2024-01-01", "axb-jaeger-span-2024-01-01"], prefix="a.b") == [
        "a.b-jaeger-span-2024-01-01"
    ]


def test_separator() -> None:
    names = ["jaeger-span-2024.01.01", "jaeger-span-2024-01-01", "jaeger-span-20240101"]
    assert _select(names, separator=".") == ["jaeger-span-2024.01.01"]
    assert _select(names, separator="") == ["jaeger-span-20240101"]
    assert _select(names) == ["jaeger-span-2024-01-01"]


def test_rollover_uses_creation_date_and_spares_write_indices() -> None:
    old, new = NOW - timedelta(days=5), NOW - timedelta(hours=1)
    created = {
        "jaeger-span-000001": old,
        "jaeger-span-000002": new,
        "jaeger-service-000001": old,
        "jaeger-service-000002": old,
        "jaeger-span-2024-01-01": old,
        "jaeger-span-archive-000001": old,
    }
    names = [*created, "jaeger-dependencies-000001"]  # no known creation date: kept
    assert _select(names, rollover=True, created=created, write_aliased={"jaeger-service-000002"}) == [
        "jaeger-service-000001",
        "jaeger-span-000001",
    ]
    # daily mode ignores rollover names; rollover mode ignores dated names
    assert _select(names, created=created) == ["jaeger-span-2024-01-01"]


def test_archive() -> None:
    old = NOW - timedelta(days=5)
    names = ["jaeger-span-archive-000001", "jaeger-span-archive-000002", "jaeger-span-000001"]
    created = dict.fromkeys(names, old)
    for rollover in (False, True):
        assert _select(
            names,
            archive=True,
            rollover=rollover,
            created=created,
            write_aliased={"jaeger-span-archive-000002"},
        ) == ["jaeger-span-archive-000001"]
    assert _select(
        ["p-jaeger-span-archive-000001"],
        archive=True,
        prefix="p",
        created={"p-jaeger-span-archive-000001": old},
    ) == ["p-jaeger-span-archive-000001"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyjaeger", "es-index-cleaner", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_against_real_node(elasticsearch: Any) -> None:
    url = str(elasticsearch.url)
    prefix = f"pyjclean-{uuid.uuid4().hex[:10]}"
    other = f"pyjother-{uuid.uuid4().hex[:10]}"
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    old = [
        f"{prefix}-jaeger-span-2020-01-01",
        f"{prefix}-jaeger-service-2020-01-01",
        f"{prefix}-jaeger-dependencies-2020-01-02",
    ]
    kept = [
        f"{prefix}-jaeger-span-{today}",
        f"{prefix}-jaeger-service-{today}",
        f"{prefix}-jaeger-dependencies-{today}",
        f"{other}-jaeger-span-2020-01-01",  # another prefix: not ours to delete
    ]
    client = Elasticsearch(url, request_timeout=60)
    try:
        for name in old + kept:
            client.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0})
        result = _cli("1", url, "--index-prefix", prefix)
        assert result.returncode == 0, result.stderr
        assert sorted(line.removeprefix("deleted ") for line in result.stdout.split("\n") if line) == sorted(
            old
        )
        left = set(client.indices.get(index=f"{prefix}-jaeger-*,{other}-jaeger-*").body)
        assert left == set(kept)

        again = _cli("1", url, "--index-prefix", prefix)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "no indices to delete"

        # the options also come from Jaeger's env vars; 0 days deletes today's indices too
        from pyjaeger.cmd.cli import main

        assert main(["es-index-cleaner", "0", url], environ={"INDEX_PREFIX": prefix}) == 0
        assert set(client.indices.get(index=f"{prefix}-jaeger-*,{other}-jaeger-*").body) == {kept[-1]}
    finally:
        existing = client.options(ignore_status=404).indices.get(index=f"{prefix}-jaeger-*,{other}-jaeger-*")
        if existing.body:
            client.indices.delete(index=",".join(existing.body))
        client.close()


def test_cli_connection_error() -> None:
    result = _cli("1", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert "cannot connect to http://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
