"""`pyjaeger es-index-cleaner NUM_OF_DAYS URL`: Jaeger's `jaeger-es-index-cleaner`.

Jaeger (`cmd/es-index-cleaner/app/{index_filter,cutoff_time}.go`, `filter/date.go`) lists
`<prefix->jaeger-*`, keeps the names matching

- default: `^<prefix->jaeger-(span|service|dependencies|sampling)-\\d{4}<sep>\\d{2}<sep>\\d{2}`;
- `--rollover`: `^<prefix->jaeger-(span|service|dependencies|sampling)-\\d{6}`;
- `--archive` (rollover only): `^<prefix->jaeger-span-archive-\\d{6}`;

never touches an index carrying a `*-write` alias, and deletes those older than the cutoff
`tomorrow 00:00 UTC - NUM_OF_DAYS days` (so 1 deletes everything before today, 0 everything).

One difference: Jaeger dates every index by its `index.creation_date` setting. Here a daily
index is dated by the date in its name (the day its spans belong to, which is what retention
means, and what still works after a snapshot restore or a late write re-creates an old index);
rollover indices carry no date in the name and use `index.creation_date` as Jaeger does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta, timezone

from elasticsearch import AsyncElasticsearch

from pyjaeger.storage.elasticsearch.indices import apply_prefix

__all__ = ["cutoff", "index_pattern", "indices_to_delete", "clean"]

_KINDS = "(span|service|dependencies|sampling)"
_DELETE_BATCH = 50  # names per DELETE, keeping the URL short


def cutoff(now: datetime, days: int) -> datetime:
    """Jaeger's cutoff: tomorrow 00:00 UTC minus `days` days."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)
    return tomorrow - timedelta(days=days)


def index_pattern(prefix: str, separator: str, archive: bool, rollover: bool) -> re.Pattern[str]:
    """The names the cleaner may delete; daily patterns capture year, month and day."""
    base = re.escape(apply_prefix(prefix, "jaeger-"))
    if archive:
        return re.compile(rf"^{base}span-archive-\d{{6}}")
    if rollover:
        return re.compile(rf"^{base}{_KINDS}-\d{{6}}")
    sep = re.escape(separator)
    return re.compile(rf"^{base}{_KINDS}-(\d{{4}}){sep}(\d{{2}}){sep}(\d{{2}})")


def indices_to_delete(
    names: Iterable[str],
    *,
    now: datetime,
    days: int,
    prefix: str = "",
    separator: str = "-",
    archive: bool = False,
    rollover: bool = False,
    created: Mapping[str, datetime] | None = None,
    write_aliased: Collection[str] = (),
) -> list[str]:
    """The names (sorted) Jaeger's cleaner would delete.

    Daily names are dated by their name; rollover/archive names by `created[name]` (an index
    with no known creation date is kept). Names in `write_aliased` are always kept.
    """
    limit = cutoff(now, days)
    pattern = index_pattern(prefix, separator, archive, rollover)
    dated = not (archive or rollover)
    selected: list[str] = []
    for name in names:
        m = pattern.match(name)
        if m is None or name in write_aliased:
            continue
        when: datetime | None
        if dated:
            try:
                when = datetime(int(m[2]), int(m[3]), int(m[4]), tzinfo=timezone.utc)
            except ValueError:  # 2024-13-45: not a date Jaeger wrote
                continue
        else:
            when = (created or {}).get(name)
        if when is not None and when < limit:
            selected.append(name)
    return sorted(selected)


async def clean(
    client: AsyncElasticsearch,
    days: int,
    *,
    prefix: str = "",
    separator: str = "-",
    archive: bool = False,
    rollover: bool = False,
    timeout: float = 120.0,
    now: datetime | None = None,
) -> list[str]:
    """List `<prefix->jaeger-*` on the cluster, delete what `indices_to_delete` picks (by name:
    Elasticsearch 8 refuses wildcard deletes) and return the deleted names.

    Raises the client's `TransportError` (cannot connect) or `ApiError` (refused request).
    """
    found = await client.indices.get(
        index=apply_prefix(prefix, "jaeger-*"),
        flat_settings=True,
        filter_path="*.aliases,*.settings",
        expand_wildcards="open,closed",
    )
    body: Mapping[str, Mapping[str, object]] = found.body or {}
    created: dict[str, datetime] = {}
    write_aliased: set[str] = set()
    for name, info in body.items():
        settings = info.get("settings")
        if isinstance(settings, Mapping):
            ms = settings.get("index.creation_date")
            if isinstance(ms, (str, int)):
                created[name] = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)
        aliases = info.get("aliases")
        if isinstance(aliases, Mapping) and any(str(a).endswith("-write") for a in aliases):
            write_aliased.add(name)
    doomed = indices_to_delete(
        body,
        now=now or datetime.now(timezone.utc),
        days=days,
        prefix=prefix,
        separator=separator,
        archive=archive,
        rollover=rollover,
        created=created,
        write_aliased=write_aliased,
    )
    for i in range(0, len(doomed), _DELETE_BATCH):
        await client.indices.delete(
            index=",".join(doomed[i : i + _DELETE_BATCH]),
            master_timeout=f"{int(timeout)}s",
            ignore_unavailable=True,
        )
    return doomed
