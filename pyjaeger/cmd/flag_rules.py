"""The one flag → environment rule of every pyjaeger command, the Elasticsearch tools included;
the kinds of flag values; and `Flag`, whose default is its config field's.

Jaeger binds each flag to viper with `AutomaticEnv`: `--collector.queue-size` is also read from
COLLECTOR_QUEUE_SIZE (upper case, `.` and `-` become `_`). A value given on the command line wins
over the environment, which wins over the default; a variable set to the empty string counts as
unset (viper's `AllowEmptyEnv` is off). Booleans take Go's `strconv.ParseBool` forms and nothing
else, from the command line and the environment alike. A bad value is a `ConfigError` naming
where it came from: `--flag='x': reason` or `ENV_NAME='x': reason`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyjaeger.cmd.config import Config
from pyjaeger.errors import ConfigError
from pyjaeger.gotext import strconv
from pyjaeger.gotext.duration import format_go_duration, parse_go_duration
from pyjaeger.hostport import HostPort, parse_host_port

__all__ = [
    "env_name",
    "dest_name",
    "parse_bool",
    "given_text",
    "parse_text",
    "BOOL_FORMS",
    "Kind",
    "TEXT",
    "LOWER",
    "INT",
    "FLOAT",
    "BOOL",
    "HOST_PORT",
    "OPTIONAL_HOST_PORT",
    "DURATION_US",
    "DURATION_S",
    "LIST",
    "KEYS",
    "Flag",
    "config_default",
]

T = TypeVar("T")

BOOL_FORMS = "1, t, T, TRUE, true, True, 0, f, F, FALSE, false or False"


def dest_name(flag: str) -> str:
    """`--es.use-ilm` (or `es.use-ilm`) → `es_use_ilm`."""
    return flag.lstrip("-").replace(".", "_").replace("-", "_")


def env_name(flag: str) -> str:
    """Jaeger's rule: `--collector.queue-size` → `COLLECTOR_QUEUE_SIZE`."""
    return dest_name(flag).upper()


def parse_bool(text: str) -> bool:
    try:
        return strconv.parse_bool(text)
    except ValueError:
        raise ValueError(f"not a boolean ({BOOL_FORMS})") from None


def given_text(flag: str, given: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The text a flag was given and where from: the command line's `given`, else its
    environment variable when set and not empty; (None, "") when neither."""
    if given is not None:
        return given, "--" + flag.lstrip("-")
    key = env_name(flag)
    text = environ.get(key)
    if text:
        return text, key
    return None, ""


def parse_text(text: str, source: str, parse: Callable[[str], T]) -> T:
    """`parse(text)`, a ValueError turned into a ConfigError naming `source`."""
    try:
        return parse(text)
    except ValueError as e:
        raise ConfigError(f"{source}={text!r}: {e}") from None


# --- kinds of values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """How a flag's text becomes its config value (`parse`) and back (`format`, for defaults)."""

    parse: Callable[[str], Any]
    format: Callable[[Any], str]
    is_bool: bool = False


def _format_host_port(hp: HostPort) -> str:
    return f":{hp.port}" if hp.host == "0.0.0.0" else str(hp)


def _parse_optional_host_port(s: str) -> HostPort | None:
    """Jaeger's off switch for an optional listener: an empty host:port opens nothing."""
    return parse_host_port(s) if s.strip() else None


def _parse_seconds(s: str) -> float:
    return parse_go_duration(s) / 1e6


TEXT = Kind(str, str)
LOWER = Kind(str.lower, str)
INT = Kind(int, str)
FLOAT = Kind(float, repr)
BOOL = Kind(parse_bool, lambda b: "true" if b else "false", is_bool=True)
HOST_PORT = Kind(parse_host_port, _format_host_port)
OPTIONAL_HOST_PORT = Kind(_parse_optional_host_port, lambda hp: "" if hp is None else _format_host_port(hp))
DURATION_US = Kind(parse_go_duration, format_go_duration)  # a Go duration as integer µs
DURATION_S = Kind(_parse_seconds, lambda s: format_go_duration(round(s * 1e6)))  # as float seconds
LIST = Kind(lambda s: tuple(p.strip() for p in s.split(",") if p.strip()), ",".join)
# Jaeger splits the tags-as-fields include list on commas and keeps each entry exactly as written.
KEYS = Kind(lambda s: frozenset(k for k in s.split(",") if k), lambda keys: ",".join(sorted(keys)))


# --- flags -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    help: str
    target: str  # "section.field" in Config, or "field" for top-level
    group: str  # which commands take it: common, collector, query, storage, sampling, agent, reporter
    kind: Kind = TEXT
    override: str | None = None  # a command's own default text (set from COMMANDS)

    @property
    def env(self) -> str:
        return env_name(self.name)

    @property
    def default(self) -> str:
        if self.override is not None:
            return self.override
        return self.kind.format(config_default(self.target))


@functools.cache
def _defaults() -> Config:
    return Config()


def config_default(target: str) -> Any:
    """The default of the Config field at `target` ("storage.memory.max_traces")."""
    return functools.reduce(getattr, target.split("."), _defaults())
