"""`pyjaeger es-dependencies [DATE] [URL]`: the job Jaeger runs `spark-dependencies` for.

Configured like the spark job's Elasticsearch variant (`ElasticsearchDependenciesJob.java`):
DATE (`yyyy-MM-dd`, default today in UTC) as the argument or `DATE`, and the environment
variables STORAGE (only `elasticsearch`), ES_NODES, ES_USERNAME, ES_PASSWORD, ES_INDEX_PREFIX,
ES_INDEX_DATE_SEPARATOR and ES_USE_ALIASES, each also a flag (`--es.nodes`, ...), a flag
winning over its variable. Not taken: ES_TIME_RANGE (the job always reads the whole UTC day),
PEER_SERVICE_TAG (no `peer.service` links, see `dependencies_job`), ES_NODES_WAN_ONLY and
ES_CLIENT_NODE_ONLY (the client never discovers other nodes anyway).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from pyjaeger.cmd.es_tool_args import Resolver, add_client_args, add_switch, run_es_action
from pyjaeger.cmd.flag_rules import dest_name

if TYPE_CHECKING:  # the client library loads only when this command runs
    from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
    from pyjaeger.storage.elasticsearch.dependencies_job import JobResult

__all__ = ["DEPENDENCIES", "add_dependencies_parser", "run_dependencies"]

DEPENDENCIES = "es-dependencies"
DEPENDENCIES_HELP = (
    "Counts one UTC day's service-to-service links from the spans and stores them where"
    " /api/dependencies reads them (what Jaeger runs its spark-dependencies job for). Run it daily."
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DEFAULT_PORT = 9200  # spark's: a node given without a port


def add_dependencies_parser(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = subs.add_parser(DEPENDENCIES, help=DEPENDENCIES_HELP, description=DEPENDENCIES_HELP)
    sub.add_argument(
        "date", metavar="DATE", nargs="?", default=None, help="yyyy-MM-dd, default today (env DATE)"
    )
    sub.add_argument(
        "url", metavar="URL", nargs="?", default=None, help="Elasticsearch, the same as --es.nodes"
    )
    sub.add_argument(
        "--es.nodes",
        dest=dest_name("--es.nodes"),
        default=None,
        help="comma-separated [http(s)://]host[:port], default 127.0.0.1:9200 (env ES_NODES)",
    )
    sub.add_argument(
        "--es.index-prefix", dest=dest_name("--es.index-prefix"), default=None, help="env ES_INDEX_PREFIX"
    )
    sub.add_argument(
        "--es.index-date-separator",
        dest=dest_name("--es.index-date-separator"),
        default=None,
        help="default '-' (env ES_INDEX_DATE_SEPARATOR)",
    )
    add_switch(
        sub,
        "--es.use-aliases",
        "read <prefix>jaeger-span-read, write <prefix>jaeger-dependencies-write (env ES_USE_ALIASES)",
    )
    sub.add_argument(
        "--shards", type=int, default=None, help="of the index template if missing, default 5 (env SHARDS)"
    )
    sub.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="of the index template if missing, default 1 (env REPLICAS)",
    )
    add_client_args(sub)


def _node_url(node: str) -> str:
    """Spark's `es.nodes` entries may leave out the scheme and the port."""
    node = node.strip()
    scheme, sep, rest = node.partition("://")
    if not sep:
        scheme, rest = "http", node
    host = rest.split("/", 1)[0]
    has_port = bool(re.search(r":\d+$", host))
    if not has_port:
        rest = host + f":{_DEFAULT_PORT}" + rest[len(host) :]
    return f"{scheme}://{rest}"


def _parse_day(parser: argparse.ArgumentParser, text: str, where: str) -> date:
    if not _DATE_RE.fullmatch(text):
        parser.error(f"{where} {text!r}: expected yyyy-MM-dd")
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        parser.error(f"{where} {text!r}: {e}")


def run_dependencies(
    parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]
) -> int:
    from pyjaeger.errors import ConfigError
    from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig

    storage = environ.get("STORAGE", "elasticsearch") or "elasticsearch"
    if storage != "elasticsearch":
        parser.error(f"STORAGE={storage!r}: this job reads Elasticsearch only")
    day_text, url = args.date, args.url
    if day_text is not None and url is None and not _DATE_RE.fullmatch(day_text):
        day_text, url = None, day_text  # `es-dependencies URL`: today
    if day_text is not None:
        day = _parse_day(parser, day_text, "DATE")
    elif environ.get("DATE"):
        day = _parse_day(parser, environ["DATE"], "DATE")
    else:
        day = datetime.now(timezone.utc).date()

    resolve = Resolver(parser, args, environ)
    nodes = url if url is not None else resolve.text("--es.nodes", "127.0.0.1")
    urls = tuple(_node_url(n) for n in nodes.split(",") if n.strip())
    client = resolve.client()
    try:
        config = ElasticsearchConfig(
            server_urls=urls,
            username=client.username,
            password=client.password,
            index_prefix=resolve.text("--es.index-prefix"),
            index_date_separator=resolve.text("--es.index-date-separator", "-"),
            use_aliases=resolve.boolean("--es.use-aliases"),
            num_shards=resolve.integer("--shards", 5),
            num_replicas=resolve.integer("--replicas", 1),
            timeout=float(client.timeout),
            tls=client.tls,
        )
        config.validate()
    except ConfigError as e:
        parser.error(str(e))
    from pyjaeger.storage.base import StorageError

    result = run_es_action(DEPENDENCIES, ",".join(urls), _run(config, day), (StorageError,))
    if result is None:
        return 1
    if result.written:
        print(
            f"{day}: {len(result.links)} links from {result.traces} traces ({result.spans} spans)"
            f" written to {result.index}"
        )
    else:
        print(f"{day}: no links in {result.traces} traces ({result.spans} spans), nothing written")
    for link in result.links:
        print(f"  {link.parent} -> {link.child}: {link.call_count}")
    return 0


async def _run(config: ElasticsearchConfig, day: date) -> JobResult:
    from pyjaeger.storage.elasticsearch.client import make_client
    from pyjaeger.storage.elasticsearch.dependencies_job import compute_and_write

    client = make_client(config.server_urls, config.username, config.password, config.timeout, tls=config.tls)
    try:
        return await compute_and_write(client, config, day)
    finally:
        await client.close()
