"""`pyjaeger <sub-command> [flags]`: all-in-one, collector, query, agent, es-index-cleaner, es-rollover,
es-dependencies, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Mapping, Sequence

from pyjaeger import __version__
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.demo.cli import DEMO, add_demo_parser, run_demo
from pyjaeger.cmd.es_dependencies import DEPENDENCIES, add_dependencies_parser, run_dependencies
from pyjaeger.cmd.es_index_cleaner import CLEANER, add_cleaner_parser, run_cleaner
from pyjaeger.cmd.es_rollover import ROLLOVER, add_rollover_parser, run_rollover
from pyjaeger.cmd.flags import COMMANDS, add_flags, build_config
from pyjaeger.cmd.logs import setup_logging
from pyjaeger.errors import ConfigError
from pyjaeger.http_connections import raise_file_limit

__all__ = ["main", "build_parser"]

log = logging.getLogger("pyjaeger")

_DESCRIPTIONS = {
    "all-in-one": "Collector, query and in-process storage in one process (Jaeger's all-in-one).",
    "collector": "Receives spans (OTLP 4317/4318, Jaeger thrift HTTP 14268, Jaeger gRPC 14250) and writes"
    " them to storage.",
    "query": "Serves Jaeger's HTTP JSON API on 16686 from storage.",
    "agent": "Takes Jaeger thrift over UDP (6831 compact, 6832 binary) and forwards it to collectors;"
    " serves sampling strategies on 5778.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyjaeger",
        description="A Jaeger-compatible tracing backend. Every flag can also be set through the"
        " environment: upper case, '.' and '-' become '_' (--collector.queue-size ="
        " COLLECTOR_QUEUE_SIZE). Flags win over the environment.",
    )
    parser.add_argument("--version", action="version", version=f"pyjaeger {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        sub = subs.add_parser(name, help=_DESCRIPTIONS[name], description=_DESCRIPTIONS[name])
        add_flags(sub, name)
    add_cleaner_parser(subs)
    add_dependencies_parser(subs)
    add_rollover_parser(subs)
    add_demo_parser(subs)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    if args.command == CLEANER:
        return run_cleaner(parser, args, env)
    if args.command == DEPENDENCIES:
        return run_dependencies(parser, args, env)
    if args.command == ROLLOVER:
        return run_rollover(parser, args, env)
    if args.command == DEMO:
        return run_demo(parser, args, env)
    try:
        config = build_config(args.command, args, env)
    except ConfigError as e:
        parser.error(str(e))
    setup_logging(config.log_level, config.log_format)
    files = raise_file_limit()
    log.debug("open-file limit %d", files)
    _use_uvloop()
    return asyncio.run(_serve(args.command, config))


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _serve(command: str, config: Config) -> int:
    from pyjaeger.cmd.app import App
    from pyjaeger.cmd.gc_tuning import freeze_startup_objects, tune_gc

    tune_gc()
    try:
        app = App(command, config)
    except Exception as e:
        # Building the parts can meet what validation could not see: a CA file that is no PEM.
        log.error("cannot start %s: %s", command, e)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.ensure_future(app.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        # A signal while start-up still waits (for Elasticsearch, say): App.start stops what it
        # started when cancelled.
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        log.error("%s stopped before it finished starting", command)
        return 1
    stopping.cancel()
    try:
        starting.result()
    except Exception as e:
        # A port in use, an unreadable strategies file, ...: say what and exit non-zero.
        log.error("cannot start %s: %s", command, e)
        return 1
    freeze_startup_objects()
    await stop.wait()
    log.info("shutting down")
    await app.stop()
    return 0
