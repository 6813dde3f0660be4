from __future__ import annotations

import pytest

from pyjaeger.cmd.cli import build_parser
from pyjaeger.cmd.flag_rules import env_name
from pyjaeger.cmd.flags import build_config, describe
from pyjaeger.errors import ConfigError
from pyjaeger.hostport import HostPort, parse_host_port


def config_of(argv: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(argv)
    return build_config(args.command, args, env or {})


def test_defaults_are_jaegers() -> None:
    c = config_of(["all-in-one"])
    assert c.collector.queue_size == 2000
    assert c.collector.num_workers == 50
    assert c.collector.otlp_grpc_host_port == HostPort("0.0.0.0", 4317)
    assert c.collector.otlp_http_host_port == HostPort("0.0.0.0", 4318)
    assert c.collector.grpc_max_message_size == 4 * 1024 * 1024
    assert c.collector.http_max_request_size == 20 * 1024 * 1024
    assert c.query.http_host_port.port == 16686
    assert c.query.base_path == "/"
    assert c.admin.http_host_port.port == 14269
    assert c.storage.span_storage_type == "memory"
    assert c.storage.memory.max_traces == 100_000
    assert c.log_level == "info"


def test_zipkin_defaults_off_in_collector_on_9411_in_all_in_one() -> None:
    c = config_of(["collector"]).collector
    assert c.zipkin_host_port is None
    assert c.zipkin_allowed_origins == ("*",)
    assert c.zipkin_allowed_headers == ("content-type",)
    assert c.zipkin_keep_alive is True
    assert config_of(["all-in-one"]).collector.zipkin_host_port == HostPort("0.0.0.0", 9411)
    # An empty value turns it off again, as Jaeger's COLLECTOR_ZIPKIN_HOST_PORT= does.
    assert config_of(["all-in-one", "--collector.zipkin.host-port="]).collector.zipkin_host_port is None


def test_zipkin_from_jaeger_env_names() -> None:
    env = {
        "COLLECTOR_ZIPKIN_HOST_PORT": ":9412",
        "COLLECTOR_ZIPKIN_ALLOWED_ORIGINS": "http://a.test, https://*.b.test",
        "COLLECTOR_ZIPKIN_ALLOWED_HEADERS": "content-type,x-b3-traceid",
        "COLLECTOR_ZIPKIN_KEEP_ALIVE": "false",
    }
    c = config_of(["collector"], env).collector
    assert c.zipkin_host_port == HostPort("0.0.0.0", 9412)
    assert c.zipkin_allowed_origins == ("http://a.test", "https://*.b.test")
    assert c.zipkin_allowed_headers == ("content-type", "x-b3-traceid")
    assert c.zipkin_keep_alive is False


def test_query_admin_port_default_differs() -> None:
    assert config_of(["query"]).admin.http_host_port.port == 16687


def test_env_rule() -> None:
    assert env_name("collector.queue-size") == "COLLECTOR_QUEUE_SIZE"
    assert env_name("span-storage.type") == "SPAN_STORAGE_TYPE"


def test_flag_wins_over_env_wins_over_default() -> None:
    env = {"COLLECTOR_QUEUE_SIZE": "7", "MEMORY_MAX_TRACES": "5", "LOG_LEVEL": "DEBUG"}
    c = config_of(["all-in-one", "--collector.queue-size", "9"], env)
    assert c.collector.queue_size == 9
    assert c.storage.memory.max_traces == 5
    assert c.log_level == "debug"
    c = config_of(["all-in-one", "--collector.queue-size=11"], env)
    assert c.collector.queue_size == 11


def test_bool_flag_forms() -> None:
    assert config_of(["collector", "--collector.otlp.enabled=false"]).collector.otlp_enabled is False
    assert config_of(["collector", "--collector.otlp.enabled"]).collector.otlp_enabled is True
    assert config_of(["collector"], {"COLLECTOR_OTLP_ENABLED": "false"}).collector.otlp_enabled is False


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["all-in-one", "--collector.queue-size", "x"], {}, "--collector.queue-size"),
        (["all-in-one"], {"COLLECTOR_NUM_WORKERS": "0"}, "--collector.num-workers"),
        (["all-in-one", "--span-storage.type", "cassandra"], {}, "--span-storage.type"),
        (["all-in-one"], {"SPAN_STORAGE_TYPE": "nope"}, "--span-storage.type"),
        (["all-in-one", "--query.base-path", "jaeger"], {}, "--query.base-path"),
        (["all-in-one", "--collector.otlp.grpc.host-port", "4317"], {}, "--collector.otlp.grpc.host-port"),
        (["all-in-one", "--memory.max-traces", "-1"], {}, "--memory.max-traces"),
        (["collector"], {"COLLECTOR_ZIPKIN_HOST_PORT": "9411"}, "COLLECTOR_ZIPKIN_HOST_PORT"),
    ],
)
def test_bad_values_name_the_flag(argv: list[str], env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        config_of(argv, env)


def test_help_lists_every_flag_with_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["all-in-one", "--help"])
    out = capsys.readouterr().out
    for f in describe("all-in-one"):
        assert f"--{f.name}" in out
        assert f.env in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (":4317", HostPort("0.0.0.0", 4317)),
        ("127.0.0.1:0", HostPort("127.0.0.1", 0)),
        ("[::1]:9", HostPort("::1", 9)),
    ],
)
def test_host_port(value: str, expected: HostPort) -> None:
    assert parse_host_port(value) == expected
