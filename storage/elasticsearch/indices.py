"""Jaeger's index and alias names: which index a document goes to, which indices a read covers.

Facts from Jaeger v1.76.0 (`internal/storage/v1/elasticsearch/spanstore/{reader,writer,
index_utils}.go`, `internal/storage/v2/elasticsearch/depstore/storage.go`,
`internal/storage/elasticsearch/config/config.go`):

- name = prefix + `jaeger-<kind>-` + the UTC date of the span's *start time* (service documents
  use the same time), formatted `YYYY<sep>MM<sep>DD`, plus `<sep>HH` with hourly rollover;
- the prefix gets a `-` appended unless it already ends with one (`IndexPrefix.Apply`);
- with aliases, writes go to `<prefix>jaeger-<kind>-write` and reads to `-read`, whatever the
  time; the archive storage is the same with suffix `archive` (or `archive-write`/`-read`);
- reads list every index from the end of the window back to its start, newest first, in steps
  of the rollover period; remote clusters add `cluster:index` copies.

Nothing here creates indices: the bulk `index` action auto-creates a daily index, and the
templates give it its mapping.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from pyjaeger.errors import ConfigError

__all__ = [
    "SPAN",
    "SERVICE",
    "DEPENDENCIES",
    "SAMPLING",
    "ROLLOVER_FREQUENCIES",
    "apply_prefix",
    "index_base",
    "DateLayout",
    "DAILY",
    "index_with_date",
    "time_range_indices",
    "span_index",
    "service_index",
    "dependencies_index",
    "dependencies_read_indices",
    "IndexNames",
]

SPAN = "span"
SERVICE = "service"
DEPENDENCIES = "dependencies"
SAMPLING = "sampling"
_KINDS = (SPAN, SERVICE, DEPENDENCIES, SAMPLING)

ROLLOVER_FREQUENCIES = ("day", "hour")

_HOUR_US = 3600 * 1_000_000
_DAY_US = 24 * _HOUR_US
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def apply_prefix(prefix: str, name: str) -> str:
    """Jaeger's `IndexPrefix.Apply`: "" → name; "p" and "p-" → "p-" + name."""
    if not prefix:
        return name
    if prefix.endswith("-"):
        return prefix + name
    return prefix + "-" + name


def index_base(prefix: str, kind: str) -> str:
    """`<prefix->jaeger-<kind>-`, the part of every index name before the date or alias suffix."""
    if kind not in _KINDS:
        raise ValueError(f"unknown index kind {kind!r} (one of: {', '.join(_KINDS)})")
    return apply_prefix(prefix, f"jaeger-{kind}-")


@dataclass(slots=True, frozen=True)
class DateLayout:
    """Jaeger's Go date layout `2006<sep>01<sep>02` (+ `<sep>15` for hourly rollover).

    `rollover` also sets the step a read takes back through the indices (-24h or -1h).
    """

    separator: str = "-"  # --es.index-date-separator
    rollover: str = "day"  # --es.index-rollover-frequency-{spans,services}: day | hour

    def validate(self, flag: str = "--es.index-rollover-frequency-spans") -> None:
        if self.rollover not in ROLLOVER_FREQUENCIES:
            raise ConfigError(f"{flag} must be one of: {', '.join(ROLLOVER_FREQUENCIES)}")
        # Index names may not hold these (Elasticsearch's rules); '*' and ',' would also
        # change what a read's index list matches.
        if any(c in self.separator for c in '\\/*?"<>| ,#:'):
            raise ConfigError("--es.index-date-separator has a character index names may not hold")

    @property
    def step_us(self) -> int:
        return _HOUR_US if self.rollover == "hour" else _DAY_US

    def format(self, time_us: int) -> str:
        """The date part of the index name for a time in µs since the epoch (UTC)."""
        step = self.step_us
        return _date_text(time_us // step, step, self.separator)


@functools.lru_cache(maxsize=256)
def _date_text(bucket: int, step: int, sep: str) -> str:
    # Keyed by day (or hour) number: the writer names an index for every span, and a batch's
    # spans nearly all fall in the same bucket.
    t = _EPOCH + timedelta(microseconds=bucket * step)
    text = f"{t.year:04d}{sep}{t.month:02d}{sep}{t.day:02d}"
    if step == _HOUR_US:
        text += f"{sep}{t.hour:02d}"
    return text


DAILY = DateLayout()


def index_with_date(base: str, layout: DateLayout, time_us: int) -> str:
    return base + layout.format(time_us)


def time_range_indices(base: str, layout: DateLayout, start_us: int, end_us: int) -> list[str]:
    """Every dated index from `end_us` back to `start_us`, newest first (`timeRangeIndices`).

    Walks back from the end in rollover steps, skips consecutive repeats, and always ends with
    the start's index; a window with start after end yields only the start's index.
    """
    step = layout.step_us
    first = index_with_date(base, layout, start_us)
    current = index_with_date(base, layout, end_us)
    indices: list[str] = []
    while current != first and end_us > start_us:
        if not indices or indices[-1] != current:
            indices.append(current)
        end_us -= step
        current = index_with_date(base, layout, end_us)
    indices.append(first)
    return indices


def span_index(prefix: str, layout: DateLayout, start_time_us: int) -> str:
    """The daily (or hourly) span index a span starting at `start_time_us` is written to."""
    return index_with_date(index_base(prefix, SPAN), layout, start_time_us)


def service_index(prefix: str, layout: DateLayout, start_time_us: int) -> str:
    """The service index the span's service/operation document goes to (span start time)."""
    return index_with_date(index_base(prefix, SERVICE), layout, start_time_us)


def dependencies_index(prefix: str, separator: str, timestamp_us: int) -> str:
    """Dependencies indices are always daily in Jaeger (only the separator is configurable)."""
    return index_with_date(index_base(prefix, DEPENDENCIES), DateLayout(separator), timestamp_us)


def dependencies_read_indices(prefix: str, separator: str, end_us: int, lookback_us: int) -> list[str]:
    """Jaeger's depstore `getReadIndices`: from end back to end - lookback in 24h steps.

    Unlike the span walk it does not skip repeats and has no start/end guard in Go; the guard
    here changes nothing for daily names and stops a negative lookback from looping.
    """
    base = index_base(prefix, DEPENDENCIES)
    layout = DateLayout(separator)
    start_us = end_us - lookback_us
    first = index_with_date(base, layout, start_us)
    current = index_with_date(base, layout, end_us)
    indices: list[str] = []
    while current != first and end_us > start_us:
        indices.append(current)
        end_us -= _DAY_US
        current = index_with_date(base, layout, end_us)
    indices.append(first)
    return indices


@dataclass(slots=True, frozen=True)
class IndexNames:
    """Index naming for one storage (primary or archive): Jaeger's `--es.index-prefix`,
    `--es.index-date-separator`, `--es.index-rollover-frequency-*`, `--es.use-aliases` and
    `--es.remote-read-clusters`, with methods giving the names each operation uses."""

    prefix: str = ""
    date_separator: str = "-"
    span_rollover: str = "day"
    service_rollover: str = "day"
    use_aliases: bool = False
    read_alias_suffix: str = "read"
    write_alias_suffix: str = "write"
    remote_read_clusters: tuple[str, ...] = ()

    def validate(self) -> None:
        self.span_layout.validate("--es.index-rollover-frequency-spans")
        self.service_layout.validate("--es.index-rollover-frequency-services")

    def archive(self) -> IndexNames:
        """The archive storage's names (Jaeger's `--es-archive.*` namespace): always one alias
        pair, `jaeger-span-archive` without `use_aliases` or `-archive-read`/`-archive-write`
        with it. Jaeger ≥ 1.7x also writes service documents there (`jaeger-service-archive`)."""
        if self.use_aliases:
            return replace(self, read_alias_suffix="archive-read", write_alias_suffix="archive-write")
        return replace(self, use_aliases=True, read_alias_suffix="archive", write_alias_suffix="archive")

    @property
    def span_layout(self) -> DateLayout:
        return DateLayout(self.date_separator, self.span_rollover)

    @property
    def service_layout(self) -> DateLayout:
        return DateLayout(self.date_separator, self.service_rollover)

    def span_write_index(self, start_time_us: int) -> str:
        base = index_base(self.prefix, SPAN)
        if self.use_aliases:
            return base + self.write_alias_suffix
        return index_with_date(base, self.span_layout, start_time_us)

    def service_write_index(self, start_time_us: int) -> str:
        base = index_base(self.prefix, SERVICE)
        if self.use_aliases:
            return base + self.write_alias_suffix
        return index_with_date(base, self.service_layout, start_time_us)

    def span_read_indices(self, start_us: int, end_us: int) -> list[str]:
        return self._read(index_base(self.prefix, SPAN), self.span_layout, start_us, end_us)

    def service_read_indices(self, start_us: int, end_us: int) -> list[str]:
        return self._read(index_base(self.prefix, SERVICE), self.service_layout, start_us, end_us)

    def dependencies_write_index(self, timestamp_us: int) -> str:
        if self.use_aliases:
            return index_base(self.prefix, DEPENDENCIES) + "write"
        return dependencies_index(self.prefix, self.date_separator, timestamp_us)

    def dependencies_read_indices(self, end_us: int, lookback_us: int) -> list[str]:
        # Jaeger's depstore ignores the alias suffixes and remote clusters.
        if self.use_aliases:
            return [index_base(self.prefix, DEPENDENCIES) + "read"]
        return dependencies_read_indices(self.prefix, self.date_separator, end_us, lookback_us)

    def _read(self, base: str, layout: DateLayout, start_us: int, end_us: int) -> list[str]:
        if self.use_aliases:
            indices = [base + self.read_alias_suffix]
        else:
            indices = time_range_indices(base, layout, start_us, end_us)
        if not self.remote_read_clusters:
            return indices
        # Cross-cluster search names: local indices first, then each index on each cluster.
        return indices + [f"{c}:{i}" for i in indices for c in self.remote_read_clusters]
