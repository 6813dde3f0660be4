"""One flag → environment rule for every command, the Elasticsearch tools included.

Every boolean of every sub-command takes exactly Go's `strconv.ParseBool` forms from the
environment (the same rule as on the command line), an empty variable counts as unset, and a
refused value names the variable. Every flag's default is its config field's default.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

import pytest

from pyjaeger.cmd.cli import build_parser, main
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.es_tool_args import Resolver
from pyjaeger.cmd.flag_rules import BOOL, config_default, env_name
from pyjaeger.cmd.flag_table import FLAGS
from pyjaeger.cmd.flags import COMMANDS, build_config, describe, flag_value
from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort

TRUE = ["1", "t", "T", "TRUE", "true", "True"]
FALSE = ["0", "f", "F", "FALSE", "false", "False"]
REFUSED = ["yes", "no", "on", "off", "y", "n", "tRue", " true", "true ", "2", "-1"]
# Positional arguments each tool needs before its flags parse.
TOOL_ARGS = {
    "es-index-cleaner": ["0", "http://127.0.0.1:1"],
    "es-rollover init": ["http://127.0.0.1:1"],
    "es-rollover rollover": ["http://127.0.0.1:1"],
    "es-rollover lookback": ["http://127.0.0.1:1"],
    "es-dependencies": ["2024-03-09", "http://127.0.0.1:1"],
}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _tool_parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every sub-command that is not a server command, with nested actions spelled out."""
    for name, sub in _subparsers(build_parser()).items():
        if name in COMMANDS:
            continue
        nested = _subparsers(sub)
        if nested:
            for action, parser in nested.items():
                yield f"{name} {action}", parser
        else:
            yield name, sub


def _switches(parser: argparse.ArgumentParser) -> list[str]:
    return [
        a.option_strings[0]
        for a in parser._actions
        if a.option_strings and a.const is True and a.default is None and a.nargs == 0
    ]


SERVER_BOOLS = [(cmd, f.name) for cmd in COMMANDS for f in describe(cmd) if f.kind is BOOL]
TOOL_BOOLS = [(tool, flag) for tool, parser in _tool_parsers() for flag in _switches(parser)]


def test_every_command_is_covered() -> None:
    tools = {tool for tool, _ in _tool_parsers()}
    assert tools >= set(TOOL_ARGS)
    assert {tool for tool, _ in TOOL_BOOLS} == set(TOOL_ARGS)  # every tool has switches
    assert {cmd for cmd, _ in SERVER_BOOLS} == {"all-in-one", "collector", "query"}  # the agent has none
    assert ("es-rollover init", "--es.tls.enabled") in TOOL_BOOLS
    assert ("collector", "collector.otlp.enabled") in SERVER_BOOLS


def _server_value(command: str, flag: str, env: dict[str, str]) -> Any:
    args = build_parser().parse_args([command])
    return flag_value(command, flag, args, env)


def _tool_value(tool: str, flag: str, env: dict[str, str]) -> bool:
    parser = dict(_tool_parsers())[tool]
    args = parser.parse_args(TOOL_ARGS[tool])
    return Resolver(parser, args, env).boolean(flag)


@pytest.mark.parametrize(("command", "flag"), SERVER_BOOLS)
def test_server_command_truth_table(command: str, flag: str) -> None:
    key = env_name(flag)
    for text in TRUE:
        assert _server_value(command, flag, {key: text}) is True, text
    for text in FALSE:
        assert _server_value(command, flag, {key: text}) is False, text
    default = _server_value(command, flag, {})
    assert _server_value(command, flag, {key: ""}) is default  # empty: unset
    for text in REFUSED:
        with pytest.raises(ConfigError, match=f"{key}={text!r}: not a boolean"):
            _server_value(command, flag, {key: text})


@pytest.mark.parametrize(("tool", "flag"), TOOL_BOOLS)
def test_tool_truth_table(tool: str, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    key = env_name(flag)
    for text in TRUE:
        assert _tool_value(tool, flag, {key: text}) is True, text
    for text in FALSE:
        assert _tool_value(tool, flag, {key: text}) is False, text
    assert _tool_value(tool, flag, {key: ""}) is False  # empty: unset
    for text in REFUSED:
        with pytest.raises(SystemExit) as exit_:
            _tool_value(tool, flag, {key: text})
        assert exit_.value.code == 2
        assert f"{key}={text!r}: not a boolean" in capsys.readouterr().err


@pytest.mark.parametrize("tool", sorted(TOOL_ARGS))
def test_each_tool_reads_its_switches_through_the_rule(tool: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the real command: a refused value stops it before any request (exit 2); Go's
    forms get past flag resolution to the connection (exit 1: nothing listens on port 1)."""
    argv = [*tool.split(), *TOOL_ARGS[tool]]
    flag = next(f for t, f in TOOL_BOOLS if t == tool and "tls" not in f)
    key = env_name(flag)
    with pytest.raises(SystemExit) as exit_:
        main(argv, environ={key: "yes"})
    assert exit_.value.code == 2
    assert f"{key}='yes': not a boolean" in capsys.readouterr().err
    assert main([*argv, "--timeout", "1"], environ={key: "T", "ES_TLS_ENABLED": "0"}) == 1
    assert "cannot connect" in capsys.readouterr().err


def test_the_reported_bug_is_gone() -> None:
    """ES_TLS_ENABLED=y was taken by es-rollover and refused by the collector: now both refuse."""
    env = {"ES_TLS_ENABLED": "y", "SPAN_STORAGE_TYPE": "elasticsearch"}
    with pytest.raises(ConfigError, match="ES_TLS_ENABLED='y'"):
        build_config("collector", build_parser().parse_args(["collector"]), env)
    with pytest.raises(SystemExit):
        _tool_value("es-rollover init", "--es.tls.enabled", env)


# --- defaults ---------------------------------------------------------------------------------


def _leaves(obj: Any, prefix: str = "") -> Iterator[str]:
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        if is_dataclass(value) and not isinstance(value, HostPort):
            yield from _leaves(value, path + ".")
        else:
            yield path


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_flag_default_is_its_config_default(command: str) -> None:
    overrides = COMMANDS[command][1]
    # The agent cannot start without collectors to send to: the one flag given here.
    needed = ["--reporter.grpc.host-port=collector:14250"] if command == "agent" else []
    config = build_config(command, build_parser().parse_args([command, *needed]), {})
    for flag in describe(command):
        if needed and needed[0].startswith(f"--{flag.name}="):
            continue
        value = config_default(flag.target)
        resolved = _get(config, flag.target)
        if flag.name in overrides:
            assert resolved == flag.kind.parse(overrides[flag.name]), flag.name
            continue
        # The text shown in --help parses back to the config class's default, and is what a
        # process with no flags and no environment runs with.
        assert flag.kind.parse(flag.default) == value, flag.name
        assert resolved == value, flag.name


def _get(obj: Any, target: str) -> Any:
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_config_field_a_flag_sets_exists_and_each_is_set_once() -> None:
    targets = [f.target for f in FLAGS]
    assert len(targets) == len(set(targets))
    leaves = set(_leaves(Config()))
    assert set(targets) <= leaves
    # The fields no flag sets are known: say why when a new one appears.
    assert leaves - set(targets) == {"storage.elasticsearch.max_retries"}


def test_a_config_default_change_reaches_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag has no default of its own: it shows what the config class says."""
    from pyjaeger.cmd import flag_rules

    flag = next(f for f in FLAGS if f.name == "collector.queue-size")
    assert flag.default == "2000"
    changed = Config()
    object.__setattr__(changed.collector, "queue_size", 7)
    monkeypatch.setattr(flag_rules, "_defaults", lambda: changed)
    assert flag.default == "7"
