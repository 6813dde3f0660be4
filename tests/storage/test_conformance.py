"""The storage conformance suite: every backend in `backends.BACKENDS` answers every case alike.

The data and the expected answers are in cases.py; this file says how to ask and how to compare.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import importlib.util
import random
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from pyjaeger.model import Span, Trace, trace_id_to_hex
from pyjaeger.storage.base import Operation, TraceQuery

if TYPE_CHECKING:
    from backends import Backend
    from cases import DependencyCase, OperationsCase, SearchCase


def _sibling(name: str) -> ModuleType:
    """Import tests/storage/<name>.py once (see the same function in conftest.py)."""
    key = f"_pyjaeger_storage_suite_{name}"
    module = sys.modules.get(key)
    if module is None:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return module


cases = _sibling("cases")
backends = _sibling("backends")

Make = Callable[..., Awaitable["Backend"]]


# ---------------------------------------------------------------------------------------------
# Helpers


async def _write(backend: Backend, writes: Iterable[Sequence[Span]]) -> None:
    """Write each batch in its own call, as copies: the cases' spans stay pristine whatever a
    backend does with its input."""
    for batch in writes:
        await backend.writer.write_spans(copy.deepcopy(list(batch)))


def _all(writes: Iterable[Sequence[Span]]) -> list[Span]:
    return [s for batch in writes for s in batch]


def _normal(spans: Iterable[Span]) -> list[Span]:
    """Spans in span-id order (the order within a trace is not part of the contract), with no
    warnings (None) and an empty warning list alike."""
    ordered = sorted(spans, key=lambda s: s.span_id)
    return [dataclasses.replace(s, warnings=s.warnings or None) for s in ordered]


def _assert_whole(trace: Trace | None, expected: Sequence[Span]) -> None:
    """`trace` holds exactly the `expected` spans, field for field."""
    assert trace is not None, f"trace {trace_id_to_hex(expected[0].trace_id)} not found"
    assert _normal(trace.spans) == _normal(expected)


def _name(trace_id: int) -> str:
    return cases.TRACE_NAMES.get(trace_id) or trace_id_to_hex(trace_id)


def _op_key(op: Operation) -> tuple[str, str]:
    return op.name, op.span_kind


@pytest.fixture
async def stored(backend: Backend) -> Backend:
    """The backend under test holding the main data set (cases.WRITES)."""
    await _write(backend, cases.WRITES)
    await backends.settle(backend, _all(cases.WRITES))
    return backend


# ---------------------------------------------------------------------------------------------
# An empty store


async def test_empty_store(backend: Backend) -> None:
    reader = backend.reader
    assert await reader.get_services() == []
    assert await reader.get_operations("frontend") == []
    assert await reader.get_trace(cases.CHECKOUT) is None
    assert await reader.find_trace_ids(TraceQuery("frontend")) == []
    assert await reader.find_traces(TraceQuery("frontend")) == []
    assert await backend.deps.get_dependencies(cases.DEP_END, cases.DEP_LOOKBACK) == []


# ---------------------------------------------------------------------------------------------
# Services and operations


async def test_get_services(stored: Backend) -> None:
    assert await stored.reader.get_services() == cases.SERVICES  # sorted


@pytest.mark.parametrize("case", cases.OPERATIONS_CASES, ids=lambda c: c.caption)
async def test_get_operations(stored: Backend, case: OperationsCase) -> None:
    """Order is not part of the contract; each (name, kind) pair comes once."""
    expected: Iterable[Operation] = case.expected
    if not stored.caps.span_kind_in_operations:
        expected = {Operation(o.name, "") for o in cases.OPERATIONS.get(case.service, ())}
    got = await stored.reader.get_operations(case.service, case.span_kind)
    assert sorted(got, key=_op_key) == sorted(expected, key=_op_key)


# ---------------------------------------------------------------------------------------------
# Traces by id


@pytest.mark.parametrize("trace_id", list(cases.TRACES), ids=_name)
async def test_get_trace(stored: Backend, trace_id: int) -> None:
    """Every span written, over however many calls, field for field."""
    trace = await stored.reader.get_trace(trace_id)
    _assert_whole(trace, cases.TRACES[trace_id])


@pytest.mark.parametrize("trace_id", list(cases.MISSING.values()), ids=list(cases.MISSING))
async def test_get_trace_missing(stored: Backend, trace_id: int) -> None:
    assert await stored.reader.get_trace(trace_id) is None


async def test_get_several_traces(stored: Backend) -> None:
    """What the query service does for `?traceID=a&traceID=b`: one get_trace each, at once."""
    ids = [cases.CHECKOUT, cases.MISSING["unused 64-bit"], cases.HOME, cases.HEALTH, cases.RESTOCK]
    got = await asyncio.gather(*(stored.reader.get_trace(t) for t in ids))
    assert got[1] is None
    for trace_id, trace in zip(ids, got, strict=True):
        if trace_id in cases.TRACES:
            _assert_whole(trace, cases.TRACES[trace_id])


async def test_write_leaves_input_unchanged(backend: Backend) -> None:
    """A writer may share its input with others (a composite writer): it must not change it."""
    batches = copy.deepcopy(cases.WRITES)
    for batch in batches:
        await backend.writer.write_spans(batch)
    assert batches == cases.WRITES


# ---------------------------------------------------------------------------------------------
# Search


@pytest.mark.parametrize("case", cases.SEARCH_CASES, ids=lambda c: c.caption)
async def test_find_trace_ids(stored: Backend, case: SearchCase) -> None:
    """Matching trace ids, newest first, at most num_traces of them (none when <= 0)."""
    got = await stored.reader.find_trace_ids(copy.deepcopy(case.query))
    assert [_name(t) for t in got] == [_name(t) for t in case.expected]


@pytest.mark.parametrize("case", cases.SEARCH_CASES, ids=lambda c: c.caption)
async def test_find_traces(stored: Backend, case: SearchCase) -> None:
    """The same traces in the same order, each whole: every span, not only those that matched."""
    got = await stored.reader.find_traces(copy.deepcopy(case.query))
    assert [_name(t.trace_id) for t in got] == [_name(t) for t in case.expected]
    for trace in got:
        _assert_whole(trace, cases.TRACES[trace.trace_id])


async def test_every_search_case_on_one_store(stored: Backend) -> None:
    """The two tests above, every case in turn on one stored data set: how the backends written
    through ingest worker processes run them (conftest.py), a store and its processes costing
    more to make than a query."""
    for case in cases.SEARCH_CASES:
        got = await stored.reader.find_trace_ids(copy.deepcopy(case.query))
        assert [_name(t) for t in got] == [_name(t) for t in case.expected], case.caption
        traces = await stored.reader.find_traces(copy.deepcopy(case.query))
        assert [_name(t.trace_id) for t in traces] == [_name(t) for t in case.expected], case.caption
        for trace in traces:
            _assert_whole(trace, cases.TRACES[trace.trace_id])


# ---------------------------------------------------------------------------------------------
# Eviction


async def test_eviction_at_max_traces(make_backend: Make) -> None:
    """With max_traces=N the N newest traces stay whole and the older ones are gone from reads and
    search, and so are the services and operations no stored span has any more (a flood of
    names cannot outgrow the bound)."""
    n, k = 5, 3
    backend = await make_backend(max_traces=n)
    if not backend.caps.evicts_at_max_traces:
        pytest.skip(f"{backend.name} does not evict at max_traces")
    writes = cases.eviction_writes(n + k)  # each trace in two calls: a later call is no new trace
    traces = cases.traces_of(writes)
    ids = list(traces)  # oldest first
    reader = backend.reader

    await _write(backend, writes[: 2 * n])
    await backends.settle(backend, _all(writes[: 2 * n]))
    for trace_id in ids[:n]:
        _assert_whole(await reader.get_trace(trace_id), traces[trace_id])

    await _write(backend, writes[2 * n :])
    old, new = ids[:k], ids[k:]
    await backends.settle(backend, _all(traces[t] for t in new), gone=old)
    for trace_id in old:
        assert await reader.get_trace(trace_id) is None
    for trace_id in new:
        _assert_whole(await reader.get_trace(trace_id), traces[trace_id])
    assert await reader.find_trace_ids(TraceQuery("shop", num_traces=0)) == new[::-1]
    assert await reader.find_trace_ids(TraceQuery("stock", num_traces=0)) == new[::-1]
    assert await reader.find_trace_ids(TraceQuery("shop", "op-0")) == []
    assert await reader.find_trace_ids(TraceQuery("early-bird")) == []
    assert [t.trace_id for t in await reader.find_traces(TraceQuery("shop", num_traces=2))] == new[:-3:-1]
    assert await reader.get_services() == ["shop", "stock"]  # early-bird was in the first trace only
    ops = await reader.get_operations("shop")
    kind = "server" if backend.caps.span_kind_in_operations else ""
    want = [Operation(f"op-{i}", kind) for i in range(k, n + k)]
    assert sorted(ops, key=_op_key) == sorted(want, key=_op_key)


# ---------------------------------------------------------------------------------------------
# Dependencies


@pytest.mark.parametrize("case", cases.DEPENDENCY_CASES, ids=lambda c: c.caption)
async def test_get_dependencies(backend: Backend, case: DependencyCase) -> None:
    """Parent service → child service call counts from spans in (end_ts - lookback, end_ts];
    each pair once, none from a service to itself."""
    if not backend.caps.dependencies_from_spans:
        pytest.skip(f"{backend.name} reads dependency links stored by an external job")
    await _write(backend, cases.DEP_WRITES)
    await backends.settle(backend, _all(cases.DEP_WRITES))
    links = await backend.deps.get_dependencies(case.end_ts, case.lookback)
    got: dict[tuple[str, str], int] = {}
    for link in links:
        assert (link.parent, link.child) not in got, f"{link.parent} → {link.child} listed twice"
        got[link.parent, link.child] = link.call_count
    assert got == case.expected


# ---------------------------------------------------------------------------------------------
# Concurrency


async def test_concurrent_writes_and_reads(backend: Backend) -> None:
    """Many writers, one span per call in shuffled order, with readers interleaved: reads see
    whole or partial traces, never anything else, and the end state is complete."""
    traces = cases.concurrent_traces(120)
    ids = list(traces)  # oldest first
    calls = [[s] for spans in traces.values() for s in spans]
    rng = random.Random(1729)
    rng.shuffle(calls)
    pauses = [rng.randrange(4) for _ in calls]
    reader = backend.reader

    async def write(batch: list[Span], pause: int) -> None:
        for _ in range(pause):
            await asyncio.sleep(0)
        await backend.writer.write_spans(copy.deepcopy(batch))

    async def read(i: int) -> None:
        for _ in range(5):
            await asyncio.sleep(0)
            trace_id = ids[(i * 7) % len(ids)]
            trace = await reader.get_trace(trace_id)
            if trace is not None:
                span_ids = [s.span_id for s in trace.spans]
                assert len(span_ids) == len(set(span_ids)) and set(span_ids) <= {1, 2, 3}
            found = await reader.find_trace_ids(TraceQuery("load-gen", num_traces=0))
            assert len(found) == len(set(found)) and set(found) <= set(ids)
            assert set(await reader.get_services()) <= {"load-gen", "load-sink"}

    await asyncio.gather(
        *(write(batch, pause) for batch, pause in zip(calls, pauses, strict=True)),
        *(read(i) for i in range(40)),
    )
    await backends.settle(backend, _all(traces.values()))

    for trace_id in ids:
        _assert_whole(await reader.get_trace(trace_id), traces[trace_id])
    assert await reader.find_trace_ids(TraceQuery("load-gen", num_traces=0)) == ids[::-1]
    assert await reader.find_trace_ids(TraceQuery("load-sink", num_traces=0)) == ids[::-1]
    assert await reader.find_trace_ids(TraceQuery("load-gen")) == ids[:-101:-1]  # default limit: 100
    assert await reader.find_trace_ids(TraceQuery("load-gen", tags={"i": "7"})) == [ids[7]]
    assert await reader.find_trace_ids(TraceQuery("load-sink", tags={"i": "7"})) == [ids[7]]  # a log field
    assert await reader.get_services() == ["load-gen", "load-sink"]
