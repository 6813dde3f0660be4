"""Jaeger's `es-rollover`: the read/write aliases and `*-NNNNNN` indices of `--es.use-aliases`.

Facts from Jaeger v2.18.0 `cmd/es-rollover/app/{index_options,flags}.go`,
`app/{init,rollover,lookback}/*.go` and `internal/storage/elasticsearch/{client,filter}/*.go`:

- the managed names are `<prefix->jaeger-span`, `-service`, `-dependencies` (unless
  `--skip-dependencies`) and `-sampling` (with `--adaptive-sampling`); `--archive` manages only
  `<prefix->jaeger-span-archive`, with the span template. Each name has the aliases
  `<name>-read` / `<name>-write` and starts with the index `<name>-000001`;
- `init` PUTs each template (`<prefix->jaeger-<kind>`, whose pattern `<prefix->jaeger-<kind>-*`
  also covers the rollover indices), creates `<name>-000001` unless an index or an alias of that
  name exists, and adds each alias no index carries yet (`is_write_index` only with ILM);
- `rollover` POSTs `<name>-write/_rollover` with `{"conditions": ...}`, then adds the read alias
  to every index holding the write alias;
- `lookback` removes the read alias from every index that does not hold the write alias and was
  created before a reference time (`getTimeReference`). Nothing here deletes an index:
  that is `es-index-cleaner --rollover`.

Differences from Jaeger:
- the prefix is applied as the storage applies it (`IndexPrefix.Apply`: `p` and `p-` both give
  `p-jaeger-...`); Jaeger's es-rollover always appends `-`, so its `p-` gives `p--jaeger-...`,
  names its own storage never reads;
- `init` does not re-create `<name>-000001` when the write alias already exists (after the
  cleaner deleted a rolled-over 000001, Jaeger creates a stray empty index there);
- `lookback` times are UTC (Jaeger uses the machine's local zone for day boundaries), and the
  unit must be one of `UNITS` (Jaeger reads any other word as seconds, which is `seconds` here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from pyjaeger.storage.elasticsearch import templates
from pyjaeger.storage.elasticsearch.indices import DEPENDENCIES, SAMPLING, SERVICE, SPAN, apply_prefix

__all__ = [
    "DEFAULT_CONDITIONS",
    "DEFAULT_ILM_POLICY",
    "UNITS",
    "RolloverError",
    "ManagedIndex",
    "managed_indices",
    "time_reference",
    "TemplateOptions",
    "InitResult",
    "RolloverResult",
    "detect_version",
    "init",
    "rollover",
    "lookback",
]

DEFAULT_CONDITIONS: dict[str, Any] = {"max_age": "2d"}  # --conditions
DEFAULT_ILM_POLICY = "jaeger-ilm-policy"  # --es.ilm-policy-name
UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")  # --unit
_JSON = {"content-type": "application/json", "accept": "application/json"}


class RolloverError(Exception):
    """A state of the cluster the action cannot work with (e.g. a missing ILM policy)."""


@dataclass(frozen=True, slots=True)
class ManagedIndex:
    """One rollover-managed name (Jaeger's `IndexOption`): `name` gets the aliases and the
    numbered indices, `kind` says which template it uses."""

    name: str
    kind: str
    prefix: str

    @property
    def read_alias(self) -> str:
        return f"{self.name}-read"

    @property
    def write_alias(self) -> str:
        return f"{self.name}-write"

    @property
    def initial_index(self) -> str:
        return f"{self.name}-000001"

    @property
    def template_name(self) -> str:
        return templates.template_name(self.kind, self.prefix)


def managed_indices(
    prefix: str = "",
    *,
    archive: bool = False,
    skip_dependencies: bool = False,
    adaptive_sampling: bool = False,
) -> list[ManagedIndex]:
    """Jaeger's `RolloverIndices`, in its order."""
    if archive:
        return [ManagedIndex(apply_prefix(prefix, "jaeger-span-archive"), SPAN, prefix)]
    kinds = [SPAN, SERVICE]
    if not skip_dependencies:
        kinds.append(DEPENDENCIES)
    if adaptive_sampling:
        kinds.append(SAMPLING)
    return [ManagedIndex(apply_prefix(prefix, f"jaeger-{k}"), k, prefix) for k in kinds]


def time_reference(now: datetime, unit: str, count: int) -> datetime:
    """Jaeger's `getTimeReference`: indices created before this leave the read alias.

    minutes/hours step back from the start of the current minute/hour; days/weeks from
    tomorrow 00:00; months/years from today 00:00 with Go's `AddDate` (31 March - 1 month =
    3 March); seconds from the current second.
    """
    now = now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "minutes":
        return now.replace(second=0, microsecond=0) - timedelta(minutes=count)
    if unit == "hours":
        return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=count)
    if unit == "days":
        return midnight + timedelta(days=1) - timedelta(days=count)
    if unit == "weeks":
        return midnight + timedelta(days=1) - timedelta(days=7 * count)
    if unit == "months":
        return _add_months(midnight, -count)
    if unit == "years":
        return _add_months(midnight, -12 * count)
    if unit == "seconds":
        return now.replace(microsecond=0) - timedelta(seconds=count)
    raise ValueError(f"unknown unit {unit!r} (one of: {', '.join(UNITS)})")


def _add_months(t: datetime, months: int) -> datetime:
    # Go normalises an overflowing day into the next month rather than clamping it.
    index = t.year * 12 + (t.month - 1) + months
    first = t.replace(year=index // 12, month=index % 12 + 1, day=1)
    return first + timedelta(days=t.day - 1)


@dataclass(frozen=True, slots=True)
class TemplateOptions:
    """What `init` renders the templates with (`--shards`, `--replicas`, `--priority-*-template`,
    `--es.use-ilm` with `--es.ilm-policy-name`)."""

    shards: int = 5
    replicas: int = 1
    priorities: Mapping[str, int] = field(default_factory=dict)  # kind → priority (ES ≥ 8)
    ilm_policy: str | None = None  # None: no ILM


@dataclass(slots=True)
class InitResult:
    version: int
    templates: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (alias, index) added


@dataclass(frozen=True, slots=True)
class RolloverResult:
    alias: str
    rolled_over: bool
    old_index: str
    new_index: str


async def detect_version(client: AsyncElasticsearch) -> int:
    """The cluster's major version, from `GET /_nodes/_local` (`GET /` is refused by some
    distributions, e.g. Elastic's integ-test one)."""
    resp = await client.nodes.info(node_id="_local", filter_path="nodes.*.version")
    nodes: Mapping[str, Any] = (resp.body or {}).get("nodes", {})
    versions = [str(node["version"]) for node in nodes.values()]
    if not versions:
        raise RolloverError("no node answered GET /_nodes/_local")
    return int(versions[0].split(".")[0])


async def _jaeger_indices(client: AsyncElasticsearch, prefix: str) -> dict[str, dict[str, Any]]:
    """Jaeger's `GetJaegerIndices`: name → {"aliases": {...}, "created": datetime | None}."""
    resp = await client.indices.get(
        index=apply_prefix(prefix, "jaeger-*"), flat_settings=True, filter_path="*.aliases,*.settings"
    )
    found: dict[str, dict[str, Any]] = {}
    for name, info in (resp.body or {}).items():
        ms = (info.get("settings") or {}).get("index.creation_date")
        created = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc) if ms is not None else None
        found[name] = {"aliases": dict(info.get("aliases") or {}), "created": created}
    return found


def _render(kind: str, version: int, prefix: str, options: TemplateOptions) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "prefix": prefix,
        "shards": options.shards,
        "replicas": options.replicas,
        "priority": options.priorities.get(kind, 0),
        "ilm_policy": options.ilm_policy,
    }
    if kind == SAMPLING:
        return templates.render_sampling_template(version, **kw)
    return templates.render_template(kind, version, **kw)


async def _ilm_policy_exists(client: AsyncElasticsearch, policy: str) -> bool:
    try:
        await client.perform_request("GET", f"/_ilm/policy/{policy}", headers={"accept": "application/json"})
    except NotFoundError:
        return False
    except BadRequestError as e:
        if "no handler found" in str(e):  # a distribution without the ILM module
            raise RolloverError(f"--es.use-ilm: the cluster has no ILM API ({e.message})") from e
        raise
    return True


async def _index_or_alias_exists(client: AsyncElasticsearch, name: str) -> bool:
    if await client.indices.exists(index=name):
        return True
    return bool(await client.indices.exists_alias(name=name))


async def init(
    client: AsyncElasticsearch,
    indices: Sequence[ManagedIndex],
    options: TemplateOptions | None = None,
    *,
    version: int = 0,
) -> InitResult:
    """Templates, first indices and aliases for `indices`; harmless to run again.

    `version` 0 asks the cluster. Raises `RolloverError` when ILM is asked for and its policy
    does not exist, and the client's `ApiError`/`TransportError` on refused requests.
    """
    options = options or TemplateOptions()
    result = InitResult(version or await detect_version(client))
    if options.ilm_policy is not None and not await _ilm_policy_exists(client, options.ilm_policy):
        raise RolloverError(
            f"ILM policy {options.ilm_policy} doesn't exist in Elasticsearch;"
            " please create it and re-run init"
        )
    for index in indices:
        body = _render(index.kind, result.version, index.prefix, options)
        path = "/" + templates.template_path(index.kind, result.version, index.prefix)
        await client.perform_request("PUT", path, body=body, headers=_JSON)
        result.templates.append(index.template_name)

        existing = await _jaeger_indices(client, index.prefix)
        has = {alias for info in existing.values() for alias in info["aliases"]}
        first = index.initial_index
        if index.write_alias not in has and not await _index_or_alias_exists(client, first):
            await client.indices.create(index=first)
            result.created.append(first)
        actions: list[dict[str, Any]] = []
        if index.read_alias not in has:
            actions.append({"add": {"index": first, "alias": index.read_alias}})
        if index.write_alias not in has:
            write: dict[str, Any] = {"index": first, "alias": index.write_alias}
            if options.ilm_policy is not None:
                write["is_write_index"] = True
            actions.append({"add": write})
        if actions:
            await client.indices.update_aliases(actions=actions)
            result.aliases += [(a["add"]["alias"], first) for a in actions]
    return result


async def rollover(
    client: AsyncElasticsearch, indices: Sequence[ManagedIndex], conditions: Mapping[str, Any] | None = None
) -> list[RolloverResult]:
    """Roll each write alias over when `conditions` hold (default `DEFAULT_CONDITIONS`; `{}`
    rolls over unconditionally), then give every write index the read alias too."""
    conditions = DEFAULT_CONDITIONS if conditions is None else conditions
    results: list[RolloverResult] = []
    for index in indices:
        kw: dict[str, Any] = {"conditions": dict(conditions)} if conditions else {}
        resp = await client.indices.rollover(alias=index.write_alias, **kw)
        results.append(
            RolloverResult(
                index.write_alias,
                bool(resp.get("rolled_over")),
                str(resp.get("old_index", "")),
                str(resp.get("new_index", "")),
            )
        )
        existing = await _jaeger_indices(client, index.prefix)
        actions = [
            {"add": {"index": name, "alias": index.read_alias}}
            for name, info in sorted(existing.items())
            if index.write_alias in info["aliases"]
        ]
        if actions:
            await client.indices.update_aliases(actions=actions)
    return results


async def lookback(
    client: AsyncElasticsearch,
    indices: Sequence[ManagedIndex],
    *,
    unit: str = "days",
    count: int = 1,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Remove the read alias from old indices; returns the (alias, index) pairs removed."""
    reference = time_reference(now or datetime.now(timezone.utc), unit, count)
    removed: list[tuple[str, str]] = []
    for index in indices:
        existing = await _jaeger_indices(client, index.prefix)
        old = [
            name
            for name, info in sorted(existing.items())
            if index.read_alias in info["aliases"]
            and index.write_alias not in info["aliases"]
            and info["created"] is not None
            and info["created"] < reference
        ]
        if not old:
            continue
        await client.indices.update_aliases(
            actions=[{"remove": {"index": name, "alias": index.read_alias}} for name in old]
        )
        removed += [(index.read_alias, name) for name in old]
    return removed
