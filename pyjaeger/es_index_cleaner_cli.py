"""`pyjaeger es-index-cleaner NUM_OF_DAYS URL`: Jaeger's index cleaner, with its arguments and env vars."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping

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
    sub.add_argument(
        "--archive",
        action="store_const",
        const=True,
        default=None,
        help="clean the rollover archive indices jaeger-span-archive-NNNNNN (env ARCHIVE)",
    )
    sub.add_argument(
        "--rollover",
        action="store_const",
        const=True,
        default=None,
        help="clean rollover indices jaeger-*-NNNNNN by creation date (env ROLLOVER)",
    )
    sub.add_argument("--timeout", type=int, default=None, help="seconds, default 120 (env TIMEOUT)")
    sub.add_argument("--es.username", dest="es_username", default=None, help="env ES_USERNAME")
    sub.add_argument("--es.password", dest="es_password", default=None, help="env ES_PASSWORD")


def _env_bool(environ: Mapping[str, str], key: str) -> bool:
    return environ.get(key, "").strip().lower() in ("1", "t", "true", "yes", "y", "on")


def run_cleaner(parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from elasticsearch import ApiError, TransportError

    from pyjaeger.storage.elasticsearch.index_cleaner import clean

    if args.num_of_days < 0:
        parser.error("NUM_OF_DAYS must be 0 or more")
    timeout = args.timeout if args.timeout is not None else int(environ.get("TIMEOUT", "120") or 120)
    try:
        deleted = asyncio.run(
            clean(
                args.url,
                args.num_of_days,
                prefix=args.index_prefix
                if args.index_prefix is not None
                else environ.get("INDEX_PREFIX", ""),
                separator=args.index_date_separator
                if args.index_date_separator is not None
                else environ.get("INDEX_DATE_SEPARATOR", "-"),
                archive=args.archive if args.archive is not None else _env_bool(environ, "ARCHIVE"),
                rollover=args.rollover if args.rollover is not None else _env_bool(environ, "ROLLOVER"),
                username=args.es_username if args.es_username is not None else environ.get("ES_USERNAME", ""),
                password=args.es_password if args.es_password is not None else environ.get("ES_PASSWORD", ""),
                timeout=timeout,
            )
        )
    except ApiError as e:
        print(f"{CLEANER}: {args.url} refused the request: {e}", file=sys.stderr)
        return 1
    except TransportError as e:
        print(f"{CLEANER}: cannot connect to {args.url}: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # a URL the client cannot parse, e.g. without http://
        print(f"{CLEANER}: {e}", file=sys.stderr)
        return 1
    if not deleted:
        print("no indices to delete")
    for name in deleted:
        print(f"deleted {name}")
    return 0
