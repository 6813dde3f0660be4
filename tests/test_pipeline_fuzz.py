"""Every span codec fuzzed with the whole pipeline as the oracle (bench/fuzz_pipeline.py).

Mutants of captured payloads go through decode, the collector's intake, memory, sqlite and a
real Elasticsearch, the query service, the query JSON and the /metrics exposition; any exception
but the codec's DecodeError fails. Fixed seed and a bounded count here; `python
bench/fuzz_pipeline.py --count N` runs longer.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MUTANTS = 400  # per codec
BUDGET_S = 20.0  # per codec, should a slow machine not get through the count
SEED = 0x14_F0_22


def _load() -> ModuleType:
    """bench/fuzz_pipeline.py, here at import for the parameters (conftest's `mutate_bytes`
    fixture shares the module object through sys.modules)."""
    name = "pyjaeger_bench_fuzz_pipeline"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "bench" / "fuzz_pipeline.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


fp = _load()


@pytest.fixture
async def stores(tmp_path: Path, elasticsearch: Any) -> AsyncIterator[list[Any]]:
    from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
    from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

    local, close_local = await fp.memory_and_sqlite(tmp_path)
    prefix = f"pyjf-{uuid.uuid4().hex[:10]}"
    config = ElasticsearchConfig(
        server_urls=(elasticsearch.url,), index_prefix=prefix, num_shards=1, num_replicas=0
    )
    es = await ElasticsearchStore.open(config)
    try:
        yield [*local, fp.Store("elasticsearch", es, es, es, settle=es.refresh)]
    finally:
        try:
            client = es.client.options(ignore_status=404)
            await client.indices.delete(index=f"{prefix}-jaeger-*", expand_wildcards="all")
            for kind in ("span", "service", "dependencies"):
                await client.indices.delete_index_template(name=f"{prefix}-jaeger-{kind}")
        finally:
            await es.close()
            await close_local()


@pytest.mark.parametrize("name", list(fp.CODECS))
async def test_codec_through_the_whole_pipeline(name: str, stores: list[Any]) -> None:
    findings = await fp.fuzz(fp.CODECS[name], MUTANTS, SEED, stores, BUDGET_S)
    assert findings.problems == []
    assert findings.mutants >= 100  # even a slow machine gets through a meaningful number
    assert findings.decoded > 0 and findings.spans > 0  # the seeds at least


async def test_the_oracle_bites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the intake's limits, times past int64 reach storage: the fuzz must see it."""
    from pyjaeger.codecs.limits import Screened
    from pyjaeger.collector import processor

    monkeypatch.setattr(processor, "screen", lambda spans: Screened(list(spans)))
    local, close = await fp.memory_and_sqlite(tmp_path)
    try:
        findings = await fp.fuzz(fp.CODECS["zipkin-v2-proto"], 50, SEED, local)
    finally:
        await close()
    assert any("write of" in p or "read back" in p for p in findings.problems), findings.problems
