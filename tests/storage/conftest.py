"""Fixtures of the storage conformance suite: one backend per entry of `backends.BACKENDS`."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from backends import Backend

DEFAULT_MAX_TRACES = 100_000


def _sibling(name: str) -> ModuleType:
    """Import tests/storage/<name>.py once. Under --import-mode=importlib and without an
    `__init__.py` nothing here is importable by name; this keeps one module object per file,
    shared with test_conformance.py, which loads it the same way."""
    key = f"_pyjaeger_storage_suite_{name}"
    module = sys.modules.get(key)
    if module is None:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before exec: dataclasses look their module up
        spec.loader.exec_module(module)
    return module


backends = _sibling("backends")


# Run once per case for the stores of one process; the stores written through ingest worker
# processes run every case in test_every_search_case_on_one_store instead.
_PER_CASE = ("test_find_trace_ids[", "test_find_traces[")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    per_case = [i for i in items if i.name.startswith(_PER_CASE) and "-ingest-processes" in i.name]
    if per_case:
        config.hook.pytest_deselected(items=per_case)
        items[:] = [i for i in items if i not in per_case]


@pytest.fixture(params=list(backends.BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def storage_elasticsearch(elasticsearch: Any) -> Iterator[str]:
    """Points the elasticsearch backend's factory at the session's node (tests/conftest.py)."""
    backends.ELASTICSEARCH_URL[:] = [elasticsearch.url]
    try:
        yield str(elasticsearch.url)
    finally:
        backends.ELASTICSEARCH_URL[:] = []


@pytest.fixture
async def make_backend(
    backend_name: str, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Backend]]]:
    """A factory of empty stores of the backend under test, `make(max_traces=...)`; all closed at
    the end of the test."""
    if backend_name.startswith("elasticsearch"):
        request.getfixturevalue("storage_elasticsearch")
    made: list[Backend] = []

    async def make(max_traces: int = DEFAULT_MAX_TRACES) -> Backend:
        backend: Backend = await backends.BACKENDS[backend_name](max_traces)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
async def backend(make_backend: Callable[..., Awaitable[Backend]]) -> Backend:
    """An empty store of the backend under test."""
    return await make_backend()
