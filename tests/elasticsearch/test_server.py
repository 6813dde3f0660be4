"""The test Elasticsearch node is real and usable with the official 8.x client, and survives outages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import elasticsearch as es_client
import pytest
from elasticsearch import Elasticsearch

if TYPE_CHECKING:
    from launcher import EsServer

INDEX = "pyjaeger-smoke"


def _client(server: EsServer) -> Elasticsearch:
    return Elasticsearch(server.url, request_timeout=30)


def test_health_and_version(elasticsearch: EsServer) -> None:
    with _client(elasticsearch) as client:
        health = client.cluster.health(wait_for_status="yellow", timeout="30s")
        assert health["status"] in ("green", "yellow")
        assert health["number_of_nodes"] == 1
        nodes = client.nodes.info(node_id="_local", filter_path="nodes.*.version")
        (version,) = [node["version"] for node in nodes["nodes"].values()]
    # The client speaks to its own major only (8.x client <-> 8.x server).
    assert version.split(".")[0] == es_client.__versionstr__.split(".")[0] == "8"
    assert elasticsearch.url.startswith("http://127.0.0.1:")


def test_index_and_search(elasticsearch: EsServer) -> None:
    with _client(elasticsearch) as client:
        client.options(ignore_status=404).indices.delete(index=INDEX)
        client.indices.create(
            index=INDEX,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={"properties": {"traceID": {"type": "keyword"}, "duration": {"type": "long"}}},
        )
        client.index(index=INDEX, id="1", document={"traceID": "abc", "duration": 5}, refresh="wait_for")
        hits = client.search(index=INDEX, query={"term": {"traceID": "abc"}})["hits"]
        assert hits["total"]["value"] == 1
        assert hits["hits"][0]["_source"] == {"traceID": "abc", "duration": 5}
        client.indices.delete(index=INDEX)


def _count(server: EsServer, index: str) -> int:
    with _client(server) as client:
        client.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
        return int(client.count(index=index)["count"])


def test_restart_and_kill_keep_data(elasticsearch: EsServer) -> None:
    index = "pyjaeger-outage"
    port, data_dir = elasticsearch.port, elasticsearch.data_dir
    with _client(elasticsearch) as client:
        client.options(ignore_status=404).indices.delete(index=index)
        client.indices.create(index=index, settings={"number_of_shards": 1, "number_of_replicas": 0})
        client.index(index=index, id="before-restart", document={"n": 1}, refresh="wait_for")
    try:
        elasticsearch.restart()  # graceful: SIGTERM, then start again
        assert (elasticsearch.port, elasticsearch.data_dir) == (port, data_dir)
        assert _count(elasticsearch, index) == 1

        with _client(elasticsearch) as client:
            # Not refreshed, only made durable by the request's translog fsync.
            client.index(index=index, id="before-kill", document={"n": 2})
        elasticsearch.kill()
        assert not elasticsearch.running
        # What a storage backend sees during the outage: the client's ConnectionError.
        with Elasticsearch(elasticsearch.url, max_retries=0) as client:
            with pytest.raises(es_client.ConnectionError):
                client.cluster.health()
        elasticsearch.restart()
        assert elasticsearch.port == port
        assert _count(elasticsearch, index) == 2
    finally:
        if not elasticsearch.running:
            elasticsearch.restart()
        with _client(elasticsearch) as client:
            client.options(ignore_status=404).indices.delete(index=index)
