"""`pyjaeger es-index-cleaner NUM_OF_DAYS URL`: Jaeger's index cleaner, with its arguments and env vars."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from pyjaeger.cmd.es_tool_args import Resolver, add_client_args, add_switch, run_es_action

__all__ = ["CLEANER", "add_cleaner_parser", "run_cleaner"]

CLEANER = "es-index-cleaner"
CLEANER_HELP = (
    "Deletes Jaeger's daily indices older than NUM_OF_DAYS days (Jaeger's jaeger-es-index-cleaner)."
)


def add_cleaner_parser(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Jaeger's cleaner CLI: positional NUM_OF_DAYS and URL; every option can also come from the
    environment variable Jaeger reads (INDEX_PREFIX, ARCHIVE, ROLLOVER, INDEX_DATE_SEPARATOR,
    TIMEOUT, ES_USERNAME, ES_PASSWORD). Options left unset are None and resolved in main."""
    sub = subs.add_parser(
        CLEANER,
        help=CLEANER_HELP,
        description=CLEANER_HELP + " An index named for day D is deleted when D is before"
        " tomorrow 00:00 UTC minus NUM_OF_DAYS days: 1 keeps only today's indices.",
    )
    sub.add_argument("num_of_days", metavar="NUM_OF_DAYS", type=int, help="days of indices to keep")
    sub.add_argument("url", metavar="URL", help="Elasticsearch, e.g. http://localhost:9200")
    sub.add_argument("--index-prefix", default=None, help="index prefix (env INDEX_PREFIX)")
    sub.add_argument(
        "--index-date-separator", default=None, help="date separator, default '-' (env INDEX_DATE_SEPARATOR)"
    )
    add_switch(sub, "--archive", "clean the archive indices jaeger-span-archive-NNNNNN (env ARCHIVE)")
    add_switch(sub, "--rollover", "clean rollover indices jaeger-*-NNNNNN by creation date (env ROLLOVER)")
    add_client_args(sub)


def run_cleaner(parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from pyjaeger.storage.elasticsearch.index_cleaner import clean

    if args.num_of_days < 0:
        parser.error("NUM_OF_DAYS must be 0 or more")
    flags = Resolver(parser, args, environ)
    client = flags.client()
    prefix, separator = flags.text("--index-prefix"), flags.text("--index-date-separator", "-")
    archive, rollover = flags.boolean("--archive"), flags.boolean("--rollover")

    async def act() -> list[str]:
        es = client.connect([args.url])
        try:
            return await clean(
                es,
                args.num_of_days,
                prefix=prefix,
                separator=separator,
                archive=archive,
                rollover=rollover,
                timeout=client.timeout,
            )
        finally:
            await es.close()

    deleted = run_es_action(CLEANER, args.url, act())
    if deleted is None:
        return 1
    if not deleted:
        print("no indices to delete")
    for name in deleted:
        print(f"deleted {name}")
    return 0
