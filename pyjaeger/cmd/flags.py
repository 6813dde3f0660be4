"""How the server commands (all-in-one, collector, query, agent) take their flags: which command
takes which (`COMMANDS`), argparse options with help, and the resolution of every flag (command
line, then environment, then the config class's default, by `flag_rules`) into a validated
`Config`. The flags themselves are `flag_table.FLAGS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any, TypeVar, get_type_hints

from pyjaeger.cmd.config import Config
from pyjaeger.cmd.flag_rules import HOST_PORT, OPTIONAL_HOST_PORT, Flag, given_text, parse_text
from pyjaeger.cmd.flag_table import FLAGS

__all__ = ["COMMANDS", "add_flags", "build_config", "flag_value", "describe", "listener_flags"]

T = TypeVar("T")

# Sub-command → (groups of flags, its own defaults), as in Jaeger's binaries.
COMMANDS: Mapping[str, tuple[frozenset[str], Mapping[str, str]]] = {
    # Jaeger v2's all-in-one opens Zipkin on 9411 out of the box; the bare collector keeps it off.
    "all-in-one": (
        frozenset({"common", "collector", "query", "storage", "sampling", "agent"}),
        {"collector.zipkin.host-port": ":9411"},
    ),
    "collector": (frozenset({"common", "collector", "storage", "sampling"}), {}),
    "query": (frozenset({"common", "query", "storage"}), {"admin.http.host-port": ":16687"}),
    "agent": (frozenset({"common", "agent", "reporter"}), {"admin.http.host-port": ":14271"}),
}


def _flags_for(command: str) -> list[Flag]:
    groups, overrides = COMMANDS[command]
    return [replace(f, override=overrides.get(f.name)) for f in FLAGS if f.group in groups]


def listener_flags(command: str) -> list[str]:
    """The names of the flags that place the command's listeners (host:port flags), for what
    starts a server with every listener somewhere of its choosing (tests, the wheel check)."""
    return [f.name for f in _flags_for(command) if f.kind in (HOST_PORT, OPTIONAL_HOST_PORT)]


def add_flags(parser: argparse.ArgumentParser, command: str) -> None:
    for f in _flags_for(command):
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": None,
            "metavar": "BOOL" if f.kind.is_bool else "VALUE",
            "help": f"{f.help} (default {f.default!r}; env {f.env})",
        }
        if f.kind.is_bool:
            kwargs.update(nargs="?", const="true")
        parser.add_argument(f"--{f.name}", **kwargs)


def build_config(command: str, args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """Resolve every flag (command line, then environment, then default) into a validated Config."""
    values: dict[str, Any] = {}
    for f in _flags_for(command):
        value = _resolve(f, args, environ)
        node = values
        *parents, leaf = f.target.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    config = _build(Config, values)
    config.validate(command)
    return config


def flag_value(command: str, name: str, args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    """One flag of a sub-command resolved as `build_config` resolves it, the rest left unchecked
    (the container health probe needs only the admin address)."""
    flag = next(f for f in _flags_for(command) if f.name == name)
    return _resolve(flag, args, environ)


def _resolve(f: Flag, args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    text, source = given_text(f.name, getattr(args, f.name, None), environ)
    if text is None:
        text, source = f.default, f"default of --{f.name}"
    return parse_text(text, source, f.kind.parse)


def _build(cls: type[T], values: Mapping[str, Any]) -> T:
    """A config dataclass from a nested dict; sections absent from `values` keep their defaults."""
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in values:
            v = values[f.name]
            kwargs[f.name] = _build(hints[f.name], v) if isinstance(v, dict) else v
    return cls(**kwargs)


def describe(command: str) -> Sequence[Flag]:
    """The flags a sub-command takes, with its defaults (for docs and tests)."""
    return _flags_for(command)
