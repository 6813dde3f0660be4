"""`--span-storage.type=elasticsearch` end to end: OTLP in, Jaeger's query API out, a real node."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from pyjaeger.config import Config, StorageConfig
from pyjaeger.storage.elasticsearch.config import HOUR_US, ElasticsearchConfig

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
OTLP_BIN = (CAPTURES / "otel-otlp-grpc-1.45.2_ExportTraceServiceRequest.bin").read_bytes()
TRACE_ID = "27c46cbb6c4dacdb340f92eaea04ee18"


async def test_otlp_in_query_out(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], elasticsearch: Any
) -> None:
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
    # The captured spans keep the time they were recorded; a trace lookup only reaches back
    # --es.max-span-age (72h by default), so reach back far enough for the capture's day.
    es = ElasticsearchConfig(
        server_urls=(elasticsearch.url,),
        index_prefix=prefix,
        num_shards=1,
        num_replicas=0,
        max_span_age=20 * 365 * 24 * HOUR_US,
    )
    config = replace(
        loopback_config(), storage=StorageConfig(span_storage_type="elasticsearch", elasticsearch=es)
    )
    app = await make_app("all-in-one", config)
    otlp = f"http://127.0.0.1:{app.server('OTLP HTTP receiver').port}/v1/traces"
    query = f"http://127.0.0.1:{app.server('query HTTP server').port}"
    try:
        async with httpx.AsyncClient() as c:
            r = await c.post(otlp, content=OTLP_BIN, headers={"content-type": "application/x-protobuf"})
            assert r.status_code == 200
            trace: dict[str, Any] = {}
            for _ in range(100):  # the node makes writes searchable within a second
                r = await c.get(f"{query}/api/traces/{TRACE_ID}")
                if r.status_code == 200 and len(r.json()["data"][0]["spans"]) == 3:
                    trace = r.json()["data"][0]
                    break
                await asyncio.sleep(0.1)
            assert {s["operationName"] for s in trace["spans"]} == {"root", "child-1", "child-2"}
            services = (await c.get(f"{query}/api/services")).json()["data"]
            assert services == ["demo-otlp-grpc"]
            found = (
                await c.get(
                    f"{query}/api/traces", params={"service": "demo-otlp-grpc", "lookback": "1h", "start": 0}
                )
            ).json()["data"]
            assert [t["traceID"] for t in found] == [TRACE_ID]
    finally:
        await app.stop()
        from elasticsearch import AsyncElasticsearch

        async with AsyncElasticsearch(elasticsearch.url, node_class="httpxasync") as client:
            indices = await client.options(ignore_status=404).indices.get(index=f"{prefix}-*")
            for name in indices:
                await client.indices.delete(index=name)
