"""`pyjaeger es-rollover init|rollover|lookback URL`: Jaeger's `jaeger-es-rollover`.

Flags and environment variables are Jaeger's (`cmd/es-rollover/app/flags.go` and the actions'
`flags.go`); each action takes them after its name: `pyjaeger es-rollover init URL --shards 1`.
Not here: Jaeger's `--es.token-file`, `--es.api-key-file` and `--es.tls.*`.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyjaeger.cmd.es_tool_args import Resolver, add_client_args, add_switch, run_es_action

if TYPE_CHECKING:  # the client library loads only when this command runs
    from elasticsearch import AsyncElasticsearch

    from pyjaeger.storage.elasticsearch import rollover as ro

__all__ = ["ROLLOVER", "add_rollover_parser", "run_rollover"]

ROLLOVER = "es-rollover"
ROLLOVER_HELP = (
    "Manages the read/write aliases and rollover indices Jaeger's --es.use-aliases needs"
    " (Jaeger's jaeger-es-rollover)."
)
_ACTIONS = {
    "init": "Creates the index templates, the first indices <name>-000001 and their aliases"
    " <name>-read and <name>-write.",
    "rollover": "Rolls the write aliases over to new indices when --conditions hold, and adds the"
    " read aliases to them.",
    "lookback": "Removes indices older than --unit-count --unit from the read aliases (deletes nothing:"
    " es-index-cleaner --rollover does).",
}
# rollover.UNITS, repeated so that building the parser does not load the client library
_UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
_PRIORITY_KINDS = ("span", "service", "dependencies", "sampling")


def _conditions(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. {"max_age": "2d"}')
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_rollover_parser(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`es-rollover` with its three actions; options unset on the command line are None and are
    resolved against the environment in `run_rollover`."""
    tool = subs.add_parser(ROLLOVER, help=ROLLOVER_HELP, description=ROLLOVER_HELP)
    actions = tool.add_subparsers(dest="rollover_action", metavar="ACTION", required=True)
    for name, text in _ACTIONS.items():
        sub = actions.add_parser(name, help=text, description=text)
        sub.set_defaults(rollover_parser=sub)
        sub.add_argument("url", metavar="URL", help="Elasticsearch, e.g. http://localhost:9200")
        sub.add_argument("--index-prefix", default=None, help="index prefix (env INDEX_PREFIX)")
        add_switch(sub, "--archive", "manage the archive indices jaeger-span-archive-* only (env ARCHIVE)")
        add_switch(sub, "--skip-dependencies", "leave out jaeger-dependencies (env SKIP_DEPENDENCIES)")
        add_switch(sub, "--adaptive-sampling", "also manage jaeger-sampling (env ADAPTIVE_SAMPLING)")
        add_switch(sub, "--es.use-ilm", "use ILM: templates name its policy (env ES_USE_ILM)")
        sub.add_argument(
            "--es.ilm-policy-name",
            dest="es_ilm_policy_name",
            default=None,
            help="ILM policy for --es.use-ilm, default jaeger-ilm-policy (env ES_ILM_POLICY_NAME)",
        )
        add_client_args(sub)
        if name == "init":
            sub.add_argument("--shards", type=int, default=None, help="default 5 (env SHARDS)")
            sub.add_argument("--replicas", type=_non_negative, default=None, help="default 1 (env REPLICAS)")
            for kind in _PRIORITY_KINDS:
                sub.add_argument(
                    f"--priority-{kind}-template",
                    type=int,
                    default=None,
                    help=f"priority of the jaeger-{kind} template, ES 8+ only, default 0"
                    f" (env PRIORITY_{kind.upper()}_TEMPLATE)",
                )
        elif name == "rollover":
            sub.add_argument(
                "--conditions",
                type=_conditions,
                default=None,
                help='rollover conditions as JSON, default {"max_age": "2d"} (env CONDITIONS)',
            )
        else:
            sub.add_argument("--unit", choices=_UNITS, default=None, help="default days (env UNIT)")
            sub.add_argument(
                "--unit-count", type=_non_negative, default=None, help="default 1 (env UNIT_COUNT)"
            )


def _unit(text: str) -> str:
    if text not in _UNITS:
        raise ValueError(f"must be one of: {', '.join(_UNITS)}")
    return text


def _env_conditions(text: str) -> dict[str, Any]:
    try:
        return _conditions(text)
    except argparse.ArgumentTypeError as e:
        raise ValueError(str(e)) from None


def _env_non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


Job = Callable[["AsyncElasticsearch"], Awaitable[list[str]]]


async def _init(
    client: AsyncElasticsearch, indices: Sequence[ro.ManagedIndex], options: ro.TemplateOptions
) -> list[str]:
    from pyjaeger.storage.elasticsearch import rollover as ro

    done = await ro.init(client, indices, options)
    return (
        [f"template {t}" for t in done.templates]
        + [f"created {i}" for i in done.created]
        + [f"alias {a} -> {i}" for a, i in done.aliases]
    )


async def _rollover(
    client: AsyncElasticsearch, indices: Sequence[ro.ManagedIndex], conditions: dict[str, Any]
) -> list[str]:
    from pyjaeger.storage.elasticsearch import rollover as ro

    return [
        f"rolled over {r.alias}: {r.old_index} -> {r.new_index}"
        if r.rolled_over
        else f"kept {r.alias} on {r.old_index}: conditions not met"
        for r in await ro.rollover(client, indices, conditions)
    ]


async def _lookback(
    client: AsyncElasticsearch, indices: Sequence[ro.ManagedIndex], unit: str, count: int
) -> list[str]:
    from pyjaeger.storage.elasticsearch import rollover as ro

    removed = await ro.lookback(client, indices, unit=unit, count=count)
    return [f"removed {i} from {a}" for a, i in removed] or ["no indices to remove from the read aliases"]


def run_rollover(
    parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]
) -> int:
    """Every option is resolved before connecting, so a bad value exits 2 without a request."""
    from pyjaeger.storage.elasticsearch import rollover as ro

    action: str = args.rollover_action
    sub: argparse.ArgumentParser = args.rollover_parser
    flags = Resolver(sub, args, environ)
    client_args = flags.client()
    indices = ro.managed_indices(
        flags.text("--index-prefix"),
        archive=flags.boolean("--archive"),
        skip_dependencies=flags.boolean("--skip-dependencies"),
        adaptive_sampling=flags.boolean("--adaptive-sampling"),
    )
    use_ilm = flags.boolean("--es.use-ilm")
    policy = flags.text("--es.ilm-policy-name", ro.DEFAULT_ILM_POLICY)
    job: Job
    if action == "init":
        options = ro.TemplateOptions(
            shards=flags.integer("--shards", 5),
            replicas=flags.value("--replicas", 1, _env_non_negative),
            priorities={k: flags.integer(f"--priority-{k}-template", 0) for k in _PRIORITY_KINDS},
            ilm_policy=policy if use_ilm else None,
        )
        if options.shards < 1:
            sub.error("--shards must be 1 or more")
        job = functools.partial(_init, indices=indices, options=options)
    elif action == "rollover":
        conditions = flags.value("--conditions", ro.DEFAULT_CONDITIONS, _env_conditions)
        job = functools.partial(_rollover, indices=indices, conditions=conditions)
    else:
        unit = flags.value("--unit", "days", _unit)
        count = flags.value("--unit-count", 1, _env_non_negative)
        job = functools.partial(_lookback, indices=indices, unit=unit, count=count)

    async def act() -> list[str]:
        client = client_args.connect([args.url])
        try:
            return await job(client)
        finally:
            await client.close()

    lines = run_es_action(f"{ROLLOVER} {action}", args.url, act(), (ro.RolloverError,))
    if lines is None:
        return 1
    for line in lines:
        print(line)
    return 0
