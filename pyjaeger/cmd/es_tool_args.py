"""What Jaeger's Elasticsearch tools (es-index-cleaner, es-rollover, es-dependencies) share.

Their flags are parsed with default None and resolved by `Resolver` under the rule every command
follows (`flag_rules`): the command line, then the environment variable (`--es.username` →
ES_USERNAME), then the default.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pyjaeger.cmd.flag_rules import dest_name, env_name, given_text, parse_bool, parse_text
from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.config import TLSConfig

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

__all__ = [
    "add_switch",
    "add_client_args",
    "Resolver",
    "ClientArgs",
    "run_es_action",
]

T = TypeVar("T")


def add_switch(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """A boolean flag; None when absent, so that its environment variable can decide."""
    parser.add_argument(flag, dest=dest_name(flag), action="store_const", const=True, default=None, help=help)


_TLS_FILES = (
    ("--es.tls.ca", "CA bundle (PEM) that verifies the server's certificate"),
    ("--es.tls.cert", "client certificate (PEM) for mutual TLS"),
    ("--es.tls.key", "client private key (PEM) for mutual TLS"),
    ("--es.tls.server-name", "host name expected in the server's certificate"),
)


def add_client_args(parser: argparse.ArgumentParser) -> None:
    """`--timeout`, `--es.username`, `--es.password`, `--es.tls.*`: how the tool reaches the cluster."""
    parser.add_argument("--timeout", type=int, default=None, help="seconds, default 120 (env TIMEOUT)")
    parser.add_argument("--es.username", dest="es_username", default=None, help="env ES_USERNAME")
    parser.add_argument("--es.password", dest="es_password", default=None, help="env ES_PASSWORD")
    add_switch(parser, "--es.tls.enabled", "use TLS for https:// URLs (env ES_TLS_ENABLED)")
    for flag, help_ in _TLS_FILES:
        parser.add_argument(flag, dest=dest_name(flag), default=None, help=f"{help_} (env {env_name(flag)})")
    add_switch(
        parser, "--es.tls.skip-host-verify", "accept any server certificate (env ES_TLS_SKIP_HOST_VERIFY)"
    )


@dataclass(frozen=True, slots=True)
class ClientArgs:
    username: str
    password: str
    timeout: int  # s
    tls: TLSConfig

    def connect(self, urls: Sequence[str]) -> AsyncElasticsearch:
        from pyjaeger.storage.elasticsearch.client import make_client

        return make_client(urls, self.username, self.password, float(self.timeout), tls=self.tls)


class Resolver:
    """Resolves parsed flags (None when not given) against the environment; a bad environment
    value is reported through the parser (exit 2), naming the variable."""

    def __init__(self, parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]):
        self._parser = parser
        self._args = args
        self._environ = environ

    def value(self, flag: str, default: T, convert: Callable[[str], T]) -> T:
        given = getattr(self._args, dest_name(flag), None)
        if given is not None:
            return given  # type: ignore[no-any-return]  # argparse converted it already
        text, source = given_text(flag, None, self._environ)
        if text is None:
            return default
        try:
            return parse_text(text, source, convert)
        except ConfigError as e:
            self._parser.error(str(e))

    def text(self, flag: str, default: str = "") -> str:
        return self.value(flag, default, str)

    def integer(self, flag: str, default: int) -> int:
        return self.value(flag, default, int)

    def boolean(self, flag: str) -> bool:
        return self.value(flag, False, parse_bool)

    def client(self) -> ClientArgs:
        timeout = self.integer("--timeout", 120)
        if timeout <= 0:
            self._parser.error("--timeout must be > 0")
        tls = TLSConfig(
            enabled=self.boolean("--es.tls.enabled"),
            ca=self.text("--es.tls.ca"),
            cert=self.text("--es.tls.cert"),
            key=self.text("--es.tls.key"),
            server_name=self.text("--es.tls.server-name"),
            skip_host_verify=self.boolean("--es.tls.skip-host-verify"),
        )
        try:
            tls.validate()
        except ConfigError as e:
            self._parser.error(str(e))
        return ClientArgs(self.text("--es.username"), self.text("--es.password"), timeout, tls)


def run_es_action(
    tool: str, url: str, action: Coroutine[Any, Any, T], expected: tuple[type[Exception], ...] = ()
) -> T | None:
    """Runs `action`; on a refused request, no connection, an unusable URL or one of the
    `expected` errors, says so on stderr and returns None (the caller exits 1)."""
    from elasticsearch import ApiError, TransportError

    try:
        return asyncio.run(action)
    except expected as e:
        print(f"{tool}: {e}", file=sys.stderr)
    except ApiError as e:
        print(f"{tool}: {url} refused the request: {e}", file=sys.stderr)
    except TransportError as e:
        print(f"{tool}: cannot connect to {url}: {e}", file=sys.stderr)
    except ValueError as e:  # a URL the client cannot parse, e.g. without http://
        print(f"{tool}: {e}", file=sys.stderr)
    return None
