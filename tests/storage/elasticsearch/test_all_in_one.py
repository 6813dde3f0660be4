"""`--span-storage.type=elasticsearch` end to end: OTLP in, Jaeger's query API out, a real node."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from pyjaeger.cmd.config import Config
from pyjaeger.storage.config import StorageConfig
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_collector_and_query_processes_share_elasticsearch(elasticsearch: Any, tmp_path: Path) -> None:
    """Jaeger's production layout: `pyjaeger collector` and `pyjaeger query` as separate
    processes, configured only through Jaeger's environment variables, one cluster between them."""
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
    ports = {name: _free_port() for name in ("otlp_http", "otlp_grpc", "thrift", "api_v2", "c_admin")}
    ports |= {"query": _free_port(), "q_admin": _free_port()}
    env = {
        **os.environ,
        "SPAN_STORAGE_TYPE": "elasticsearch",
        "ES_SERVER_URLS": elasticsearch.url,
        "ES_INDEX_PREFIX": prefix,
        "ES_NUM_SHARDS": "1",
        "ES_NUM_REPLICAS": "0",
        "ES_MAX_SPAN_AGE": "175200h",  # the capture's spans keep the day they were recorded
    }
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("collector", "query")}
    collector = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyjaeger",
            "collector",
            f"--collector.otlp.http.host-port=127.0.0.1:{ports['otlp_http']}",
            f"--collector.otlp.grpc.host-port=127.0.0.1:{ports['otlp_grpc']}",
            f"--collector.http-server.host-port=127.0.0.1:{ports['thrift']}",
            f"--collector.grpc-server.host-port=127.0.0.1:{ports['api_v2']}",
            f"--admin.http.host-port=127.0.0.1:{ports['c_admin']}",
        ],
        env=env,
        stderr=logs["collector"],
    )
    query = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyjaeger",
            "query",
            f"--query.http-server.host-port=127.0.0.1:{ports['query']}",
            "--query.grpc-server.host-port=127.0.0.1:0",
            f"--admin.http.host-port=127.0.0.1:{ports['q_admin']}",
        ],
        env=env,
        stderr=logs["query"],
    )
    api = f"http://127.0.0.1:{ports['query']}/api"
    try:
        async with httpx.AsyncClient() as c:
            for admin in (ports["c_admin"], ports["q_admin"]):
                for _ in range(300):
                    try:
                        if (await c.get(f"http://127.0.0.1:{admin}/")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert collector.poll() is None and query.poll() is None, "a process exited"
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"admin :{admin} never became healthy")
            r = await c.post(
                f"http://127.0.0.1:{ports['otlp_http']}/v1/traces",
                content=OTLP_BIN,
                headers={"content-type": "application/x-protobuf"},
            )
            assert r.status_code == 200
            spans: list[dict[str, Any]] = []
            for _ in range(100):
                r = await c.get(f"{api}/traces/{TRACE_ID}")
                if r.status_code == 200 and len(r.json()["data"][0]["spans"]) == 3:
                    spans = r.json()["data"][0]["spans"]
                    break
                await asyncio.sleep(0.1)
            assert {s["operationName"] for s in spans} == {"root", "child-1", "child-2"}
            assert (await c.get(f"{api}/services")).json()["data"] == ["demo-otlp-grpc"]
            ops = (await c.get(f"{api}/services/demo-otlp-grpc/operations")).json()["data"]
            assert {o for o in ops} == {"root", "child-1", "child-2"}
            params = {"service": "demo-otlp-grpc", "operation": "child-1", "start": 0, "limit": 20}
            found = (await c.get(f"{api}/traces", params=params)).json()["data"]
            assert [t["traceID"] for t in found] == [TRACE_ID]
            assert (await c.get(f"{api}/traces/{'0' * 31}1")).status_code == 404
    finally:
        for proc in (collector, query):
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in (collector, query)]
        for log in logs.values():
            log.close()
        from elasticsearch import AsyncElasticsearch

        async with AsyncElasticsearch(elasticsearch.url, node_class="httpxasync") as client:
            indices = await client.options(ignore_status=404).indices.get(index=f"{prefix}-*")
            for name in indices:
                await client.indices.delete(index=name)
    assert codes == [0, 0], {name: (tmp_path / f"{name}.log").read_text() for name in logs}
