"""Fixtures shared by every test directory: an in-process pyjaeger on free loopback ports."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pyjaeger.agent.config import AgentConfig, UDPServerConfig
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import AdminConfig, Config
from pyjaeger.cmd.flags import listener_flags
from pyjaeger.collector.config import CollectorConfig
from pyjaeger.hostport import HostPort
from pyjaeger.query.config import QueryConfig
from pyjaeger.storage.config import StorageConfig
from pyjaeger.storage.memory.config import MemoryConfig

LOOPBACK = HostPort("127.0.0.1", 0)


def loopback_config(base_path: str = "/", **collector: Any) -> Config:
    """A Config whose every listener takes a free port on 127.0.0.1."""
    return Config(
        collector=replace(
            CollectorConfig(
                otlp_grpc_host_port=LOOPBACK,
                otlp_http_host_port=LOOPBACK,
                http_host_port=LOOPBACK,
                grpc_host_port=LOOPBACK,
                ingest_processes=1,  # in-process: tests of ingest worker processes ask for them
            ),
            **collector,
        ),
        agent=AgentConfig(UDPServerConfig(LOOPBACK), UDPServerConfig(LOOPBACK), LOOPBACK),
        storage=StorageConfig(memory=MemoryConfig(max_traces=1000)),
        query=QueryConfig(http_host_port=LOOPBACK, grpc_host_port=LOOPBACK, base_path=base_path),
        admin=AdminConfig(http_host_port=LOOPBACK),
    )


@pytest.fixture
async def make_app() -> AsyncIterator[Callable[..., Any]]:
    """Build and start an App; every app made is stopped at teardown."""
    apps: list[App] = []

    async def make(command: str = "all-in-one", config: Config | None = None, **kw: Any) -> App:
        app = App(command, config or loopback_config(**kw))
        await app.start()
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.stop()


def build_span(
    trace_id: int = 1,
    span_id: int = 1,
    *,
    parent: int = 0,
    service: str = "svc",
    operation: str = "op",
    start: int = 1_700_000_000_000_000,
    duration: int = 1000,
    tags: dict[str, Any] | None = None,
    process_tags: dict[str, Any] | None = None,
) -> Any:
    from pyjaeger.model import KeyValue, Process, Span, SpanRef, SpanRefType, ValueType

    def kvs(d: dict[str, Any] | None) -> list[KeyValue]:
        out = []
        for k, v in (d or {}).items():
            t = {
                bool: ValueType.BOOL,
                int: ValueType.INT64,
                float: ValueType.FLOAT64,
                bytes: ValueType.BINARY,
            }
            out.append(KeyValue(k, t.get(type(v), ValueType.STRING), v))
        return out

    refs = [SpanRef(SpanRefType.CHILD_OF, trace_id, parent)] if parent else []
    return Span(
        trace_id,
        span_id,
        operation,
        refs,
        1,
        start,
        duration,
        kvs(tags),
        [],
        Process(service, kvs(process_tags)),
    )


# Every listener the all-in-one opens, by flag: a process on free loopback ports gets them all at 0.
ALL_IN_ONE_LISTENERS = tuple(listener_flags("all-in-one"))


@pytest.fixture
def loopback_flags() -> list[str]:
    """Flags that put every all-in-one listener on 127.0.0.1, each on a free port."""
    return [f"--{flag}=127.0.0.1:0" for flag in ALL_IN_ONE_LISTENERS]


@pytest.fixture
def span() -> Callable[..., Any]:
    """`span(trace_id, span_id, parent=, service=, operation=, start=, duration=, tags=, process_tags=)`."""
    return build_span


@pytest.fixture(name="loopback_config")
def loopback_config_fixture() -> Callable[..., Config]:
    """`loopback_config(base_path=..., **collector)`: a Config on free loopback ports."""
    return loopback_config


ES_LAUNCHER_MODULE = "pyjaeger_tests_es_launcher"  # launcher.MODULE_NAME
FUZZ_PIPELINE_MODULE = "pyjaeger_bench_fuzz_pipeline"


def load_by_path(name: str, path: Path) -> ModuleType:
    """A helper file imported by path once, as `name` (tests and bench are not packages)."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: dataclasses look their module up
        spec.loader.exec_module(module)
    return module


def load_es_launcher() -> ModuleType:
    """tests/elasticsearch/launcher.py."""
    return load_by_path(ES_LAUNCHER_MODULE, Path(__file__).parent / "elasticsearch" / "launcher.py")


@pytest.fixture(scope="session")
def mutate_bytes() -> Any:
    """bench/fuzz_pipeline.py's byte mutator, the one every fuzz test uses."""
    path = Path(__file__).parents[1] / "bench" / "fuzz_pipeline.py"
    return load_by_path(FUZZ_PIPELINE_MODULE, path).mutate_bytes


@pytest.fixture
def private_elasticsearch() -> Iterator[Any]:
    """A node of the test's own, which it may stop, kill and restart (same port, same data)."""
    with load_es_launcher().start() as server:
        yield server


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[Any]:
    """One real Elasticsearch node for the whole session (storage suite and launcher tests).

    It is started on first use and stopped at the end. A test that kills or stops it must bring it
    back (`restart()`, same port and data) before it ends. A node that cannot start fails the
    tests that need it: they are never skipped, so CI cannot go green without a real server.
    """
    with load_es_launcher().start() as server:
        yield server


@pytest.fixture(scope="session")
def elasticsearch_tls() -> Iterator[Any]:
    """A second real node with security on, for the TLS and basic-auth tests: HTTPS only, with a CA
    and certificates the launcher makes (`server.ca_path`, `server.client_cert_path`/`_key_path`)
    and a superuser (`server.username`, `server.password`). Started on first use only; like
    `elasticsearch`, never skipped."""
    with load_es_launcher().start(secure=True) as server:
        yield server
