"""Index and alias names, with the expected values of Jaeger's reader/writer tests (v1.76.0)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.indices import (
    DAILY,
    DateLayout,
    IndexNames,
    apply_prefix,
    dependencies_index,
    dependencies_read_indices,
    index_base,
    service_index,
    span_index,
    time_range_indices,
)

HOUR = 3600 * 1_000_000
DAY = 24 * HOUR
HOURLY = DateLayout(rollover="hour")


def us(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """µs since the epoch of a UTC date and time."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc).timestamp()) * 1_000_000


def test_span_and_service_index_of_a_span() -> None:
    # writer_test TestSpanIndexName: 1995-04-21T22:08:41Z.
    t = us(1995, 4, 21, 22, 8, 41)
    assert span_index("", DAILY, t) == "jaeger-span-1995-04-21"
    assert service_index("", DAILY, t) == "jaeger-service-1995-04-21"


def test_dates_are_utc_day_or_hour_buckets() -> None:
    assert span_index("", DAILY, DAY - 1) == "jaeger-span-1970-01-01"
    assert span_index("", DAILY, DAY) == "jaeger-span-1970-01-02"
    assert span_index("", DAILY, -1) == "jaeger-span-1969-12-31"
    assert span_index("", HOURLY, us(2019, 10, 10, 5, 59, 59)) == "jaeger-span-2019-10-10-05"
    # --es.index-date-separator's help: "." creates "jaeger-span-2020.11.20".
    assert span_index("", DateLayout("."), us(2020, 11, 20)) == "jaeger-span-2020.11.20"
    assert span_index("", DateLayout(".", "hour"), us(2020, 11, 20, 7)) == "jaeger-span-2020.11.20.07"
    assert span_index("", DateLayout(""), us(2020, 11, 20)) == "jaeger-span-20201120"


def test_prefix_rule() -> None:
    assert apply_prefix("", "jaeger-span") == "jaeger-span"
    assert apply_prefix("prod", "jaeger-span") == "prod-jaeger-span"
    assert apply_prefix("prod-", "jaeger-span") == "prod-jaeger-span"  # no second dash
    assert apply_prefix("foo:", "jaeger-span-") == "foo:-jaeger-span-"
    t = us(2026, 8, 20)
    assert span_index("prod", DAILY, t) == "prod-jaeger-span-2026-08-20"
    assert service_index("prod-", DAILY, t) == "prod-jaeger-service-2026-08-20"
    assert dependencies_index("prod", "-", t) == "prod-jaeger-dependencies-2026-08-20"
    with pytest.raises(ValueError, match="unknown index kind"):
        index_base("", "spans")


def test_time_range_indices_newest_first() -> None:
    # reader_test TestSpanReaderFindIndices (today 1995-04-21 04:12:19, daily, -24h steps).
    today = us(1995, 4, 21, 4, 12, 19)
    base = "jaeger-span-"
    names = ["jaeger-span-1995-04-21", "jaeger-span-1995-04-20", "jaeger-span-1995-04-19"]
    assert time_range_indices(base, DAILY, today - 1000, today) == names[:1]
    assert time_range_indices(base, DAILY, today - 13 * HOUR, today) == names[:2]
    assert time_range_indices(base, DAILY, today - 48 * HOUR, today) == names
    # Start after end: only the start's index, as in Go.
    assert time_range_indices(base, DAILY, today, today - 48 * HOUR) == names[:1]


def test_time_range_indices_hourly() -> None:
    end = us(2019, 10, 10, 5, 10)
    got = time_range_indices("jaeger-span-", HOURLY, end - 100 * 60 * 1_000_000, end)
    assert got == ["jaeger-span-2019-10-10-05", "jaeger-span-2019-10-10-04", "jaeger-span-2019-10-10-03"]
    # Across midnight.
    got = time_range_indices("jaeger-span-", HOURLY, us(2019, 10, 9, 23, 30), us(2019, 10, 10, 0, 5))
    assert got == ["jaeger-span-2019-10-10-00", "jaeger-span-2019-10-09-23"]


# reader_test TestSpanReaderIndices: date 2019-10-10 05:00 UTC, spans hourly, services daily,
# start == end; each case lists the span indices then the service indices.
DATE = us(2019, 10, 10, 5)
SPAN_H = "jaeger-span-2019-10-10-05"
SERVICE_D = "jaeger-service-2019-10-10"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (IndexNames(span_rollover="hour"), [SPAN_H, SERVICE_D]),
        (IndexNames(use_aliases=True), ["jaeger-span-read", "jaeger-service-read"]),
        (IndexNames(prefix="foo:", span_rollover="hour"), ["foo:-" + SPAN_H, "foo:-" + SERVICE_D]),
        (IndexNames(prefix="foo:", use_aliases=True), ["foo:-jaeger-span-read", "foo:-jaeger-service-read"]),
        (IndexNames().archive(), ["jaeger-span-archive", "jaeger-service-archive"]),
        (
            IndexNames(prefix="foo:").archive(),
            ["foo:-jaeger-span-archive", "foo:-jaeger-service-archive"],
        ),
        (
            IndexNames(span_rollover="hour", remote_read_clusters=("cluster_one", "cluster_two")),
            [
                SPAN_H, "cluster_one:" + SPAN_H, "cluster_two:" + SPAN_H,
                SERVICE_D, "cluster_one:" + SERVICE_D, "cluster_two:" + SERVICE_D,
            ],
        ),
        (
            IndexNames(remote_read_clusters=("cluster_one", "cluster_two")).archive(),
            [
                "jaeger-span-archive", "cluster_one:jaeger-span-archive", "cluster_two:jaeger-span-archive",
                "jaeger-service-archive", "cluster_one:jaeger-service-archive",
                "cluster_two:jaeger-service-archive",
            ],
        ),
        (
            IndexNames(use_aliases=True, remote_read_clusters=("cluster_one", "cluster_two")),
            [
                "jaeger-span-read", "cluster_one:jaeger-span-read", "cluster_two:jaeger-span-read",
                "jaeger-service-read", "cluster_one:jaeger-service-read", "cluster_two:jaeger-service-read",
            ],
        ),
    ],
)  # fmt: skip
def test_read_indices_as_jaeger_reader(names: IndexNames, expected: list[str]) -> None:
    got = names.span_read_indices(DATE, DATE) + names.service_read_indices(DATE, DATE)
    assert got == expected


def test_remote_clusters_follow_every_local_index() -> None:
    names = IndexNames(remote_read_clusters=("c1", "c2"))
    assert names.span_read_indices(DATE - DAY, DATE) == [
        "jaeger-span-2019-10-10",
        "jaeger-span-2019-10-09",
        "c1:jaeger-span-2019-10-10",
        "c2:jaeger-span-2019-10-10",
        "c1:jaeger-span-2019-10-09",
        "c2:jaeger-span-2019-10-09",
    ]


def test_write_indices() -> None:
    t = us(1995, 4, 21, 22, 8, 41)
    daily = IndexNames(prefix="prod")
    assert daily.span_write_index(t) == "prod-jaeger-span-1995-04-21"
    assert daily.service_write_index(t) == "prod-jaeger-service-1995-04-21"
    hourly = IndexNames(span_rollover="hour", service_rollover="hour", date_separator=".")
    assert hourly.span_write_index(t) == "jaeger-span-1995.04.21.22"
    assert hourly.service_write_index(t) == "jaeger-service-1995.04.21.22"
    aliases = IndexNames(prefix="prod", use_aliases=True)
    assert aliases.span_write_index(t) == "prod-jaeger-span-write"
    assert aliases.service_write_index(t) == "prod-jaeger-service-write"
    assert aliases.dependencies_write_index(t) == "prod-jaeger-dependencies-write"
    # The archive writes span and service documents to one undated alias each.
    assert IndexNames().archive().span_write_index(t) == "jaeger-span-archive"
    assert IndexNames().archive().service_write_index(t) == "jaeger-service-archive"
    archive = IndexNames(use_aliases=True).archive()
    assert archive.span_write_index(t) == "jaeger-span-archive-write"
    assert archive.span_read_indices(t, t) == ["jaeger-span-archive-read"]


def test_dependencies_indices_are_daily() -> None:
    end = us(2019, 10, 10, 5)
    assert dependencies_read_indices("", "-", end, 72 * HOUR) == [
        "jaeger-dependencies-2019-10-10",
        "jaeger-dependencies-2019-10-09",
        "jaeger-dependencies-2019-10-08",
        "jaeger-dependencies-2019-10-07",
    ]
    assert dependencies_read_indices("p", ".", end, HOUR) == ["p-jaeger-dependencies-2019.10.10"]
    assert dependencies_read_indices("", "-", end, -HOUR) == ["jaeger-dependencies-2019-10-10"]
    # Hourly rollover for spans does not make the dependencies hourly.
    names = IndexNames(span_rollover="hour", service_rollover="hour")
    assert names.dependencies_write_index(end) == "jaeger-dependencies-2019-10-10"
    assert names.dependencies_read_indices(end, 24 * HOUR) == [
        "jaeger-dependencies-2019-10-10",
        "jaeger-dependencies-2019-10-09",
    ]
    # With aliases the depstore uses -read / -write and ignores the archive suffixes.
    assert IndexNames(use_aliases=True).dependencies_read_indices(end, DAY) == ["jaeger-dependencies-read"]


def test_validate() -> None:
    IndexNames(span_rollover="hour").validate()
    with pytest.raises(ConfigError, match="rollover-frequency-spans"):
        IndexNames(span_rollover="week").validate()
    with pytest.raises(ConfigError, match="rollover-frequency-services"):
        IndexNames(service_rollover="Day").validate()
    with pytest.raises(ConfigError, match="date-separator"):
        IndexNames(date_separator="/").validate()
