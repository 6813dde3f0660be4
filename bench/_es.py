"""Elasticsearch for the benchmarks: a node of its own (tests/elasticsearch/launcher.py) or an
existing cluster, and the node statistics the storage phase of `bench/ingest.py` reports.

What is read, and from where:
- spans indexed: `POST <prefix>-jaeger-span-*/_refresh`, then `GET .../_count`;
- `_bulk` requests and their bytes: the HTTP route statistics of `GET /_nodes/stats/http`
  (`routes["/_bulk"]`, Elasticsearch 8.13 and later), exact counts plus a power-of-two size
  histogram and a handling-time histogram; documents per request come from
  `indices.indexing.index_total` over the same interval;
- time Elasticsearch spent indexing, refreshing, merging, in young/old GC; heap used;
- the node's RSS and CPU seconds from /proc (only for a node started here: its pid is known).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from _common import REPO, read_cpu_seconds, read_rss

from pyjaeger.storage.elasticsearch.indices import SERVICE, SPAN, index_base
from pyjaeger.storage.elasticsearch.templates import template_name

__all__ = [
    "EsNode",
    "EsStats",
    "delete_prefix",
    "es_request",
    "external_node",
    "scratch_prefix",
    "span_count",
    "start_node",
    "stats",
    "wait_indexed",
]

LAUNCHER = REPO / "tests" / "elasticsearch" / "launcher.py"
LAUNCHER_MODULE = "pyjaeger_tests_es_launcher"  # the name tests/conftest.py gives it


def load_launcher() -> ModuleType:
    """tests/elasticsearch/launcher.py imported by path, as tests/conftest.py does."""
    module = sys.modules.get(LAUNCHER_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(LAUNCHER_MODULE, LAUNCHER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[LAUNCHER_MODULE] = module
        spec.loader.exec_module(module)
    return module


@dataclass
class EsNode:
    """A cluster to write to; `pid` and `server` only for a node this process started."""

    url: str
    pid: int | None = None
    server: Any = None  # the launcher's EsServer
    heap: str = ""
    version: str = ""

    def rss(self) -> int | None:
        return read_rss(self.pid) if self.pid else None

    def rss_anon(self) -> int | None:
        """Anonymous memory only: the RSS without the page cache of mapped index files."""
        return read_rss(self.pid, "RssAnon") if self.pid else None

    def cpu_seconds(self) -> float | None:
        return read_cpu_seconds(self.pid) if self.pid else None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server.remove()
            self.server = None


def start_node(heap: str) -> EsNode:
    launcher = load_launcher()
    server = launcher.start(heap=heap)
    return EsNode(server.url, server.pid, server, heap, launcher.ES_VERSION)


def external_node(url: str) -> EsNode:
    info = es_request(url, "GET", "/_nodes/_local?filter_path=nodes.*.version")
    versions = [str(n["version"]) for n in info.get("nodes", {}).values()]
    return EsNode(url.rstrip("/"), version=versions[0] if versions else "?")


def es_request(url: str, method: str, path: str, body: Any = None, timeout: float = 120.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        detail = e.read()[:300]
        e.close()
        raise RuntimeError(f"{method} {path}: HTTP {e.code} {detail!r}") from None


def span_pattern(prefix: str) -> str:
    return f"{index_base(prefix, SPAN)}*"


def span_count(url: str, prefix: str, refresh: bool = True) -> int:
    """Span documents searchable now (after a refresh of the prefix's span indices)."""
    pattern = span_pattern(prefix)
    opts = "?ignore_unavailable=true&allow_no_indices=true"
    if refresh:
        es_request(url, "POST", f"/{pattern}/_refresh{opts}")
    return int(es_request(url, "GET", f"/{pattern}/_count{opts}")["count"])


def delete_prefix(url: str, prefix: str) -> None:
    """Drop the indices and templates of `prefix` (by name: wildcard deletes may be refused)."""
    for kind in (SPAN, SERVICE):
        pattern = index_base(prefix, kind) + "*"
        rows = es_request(url, "GET", f"/_cat/indices/{pattern}?format=json&h=index")
        for row in rows or []:
            es_request(url, "DELETE", f"/{row['index']}")
        try:
            es_request(url, "DELETE", f"/_index_template/{template_name(kind, prefix)}")
        except RuntimeError:
            pass  # not there (ES 7 templates, or never created)


@dataclass
class EsStats:
    """Cumulative node counters at one moment; subtract two for an interval."""

    bulk_requests: int = 0
    bulk_bytes: int = 0
    bulk_size_hist: dict[int, int] = field(default_factory=dict)  # lower bound (bytes) → requests
    bulk_time_hist: dict[int, int] = field(default_factory=dict)  # lower bound (ms) → requests
    docs_indexed: int = 0
    index_ms: int = 0
    throttle_ms: int = 0
    refresh_ms: int = 0
    merge_ms: int = 0
    gc_young_ms: int = 0
    gc_old_ms: int = 0
    heap_used: int = 0
    heap_max: int = 0
    at: float = 0.0

    def __sub__(self, other: EsStats) -> EsStats:
        def hist(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
            return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}

        return EsStats(
            self.bulk_requests - other.bulk_requests,
            self.bulk_bytes - other.bulk_bytes,
            hist(self.bulk_size_hist, other.bulk_size_hist),
            hist(self.bulk_time_hist, other.bulk_time_hist),
            self.docs_indexed - other.docs_indexed,
            self.index_ms - other.index_ms,
            self.throttle_ms - other.throttle_ms,
            self.refresh_ms - other.refresh_ms,
            self.merge_ms - other.merge_ms,
            self.gc_young_ms - other.gc_young_ms,
            self.gc_old_ms - other.gc_old_ms,
            self.heap_used,
            self.heap_max,
            self.at - other.at,
        )

    def hist_median(self, which: str) -> tuple[int, int]:
        """The histogram bucket [low, 2*low) holding the median request."""
        h = self.bulk_size_hist if which == "size" else self.bulk_time_hist
        total = sum(h.values())
        seen = 0
        for low in sorted(h):
            seen += h[low]
            if 2 * seen >= total:
                return low, max(1, 2 * low)
        return 0, 0


def stats(url: str) -> EsStats:
    """Counters summed over the cluster's nodes."""
    doc = es_request(
        url,
        "GET",
        "/_nodes/stats/indices,jvm,http?filter_path=nodes.*.indices.indexing,nodes.*.indices.refresh,"
        "nodes.*.indices.merges,nodes.*.jvm.mem,nodes.*.jvm.gc,nodes.*.http.routes./_bulk",
    )
    out = EsStats(at=time.monotonic())
    for node in doc.get("nodes", {}).values():
        bulk = node.get("http", {}).get("routes", {}).get("/_bulk", {}).get("requests", {})
        out.bulk_requests += bulk.get("count", 0)
        out.bulk_bytes += bulk.get("total_size_in_bytes", 0)
        for b in bulk.get("size_histogram", []):
            low = b.get("ge_bytes", 0)
            out.bulk_size_hist[low] = out.bulk_size_hist.get(low, 0) + b["count"]
        responses = node.get("http", {}).get("routes", {}).get("/_bulk", {}).get("responses", {})
        for b in responses.get("handling_time_histogram", []):
            low = b.get("ge_millis", 0)
            out.bulk_time_hist[low] = out.bulk_time_hist.get(low, 0) + b["count"]
        indices = node.get("indices", {})
        out.docs_indexed += indices.get("indexing", {}).get("index_total", 0)
        out.index_ms += indices.get("indexing", {}).get("index_time_in_millis", 0)
        out.throttle_ms += indices.get("indexing", {}).get("throttle_time_in_millis", 0)
        out.refresh_ms += indices.get("refresh", {}).get("total_time_in_millis", 0)
        out.merge_ms += indices.get("merges", {}).get("total_time_in_millis", 0)
        jvm = node.get("jvm", {})
        collectors = jvm.get("gc", {}).get("collectors", {})
        out.gc_young_ms += collectors.get("young", {}).get("collection_time_in_millis", 0)
        out.gc_old_ms += collectors.get("old", {}).get("collection_time_in_millis", 0)
        out.heap_used += jvm.get("mem", {}).get("heap_used_in_bytes", 0)
        out.heap_max += jvm.get("mem", {}).get("heap_max_in_bytes", 0)
    return out


def wait_indexed(url: str, prefix: str, n: int, timeout: float) -> tuple[int, float]:
    """Refresh and count until `n` spans are searchable; (count, monotonic time it was seen)."""
    deadline = time.monotonic() + timeout
    while True:
        count = span_count(url, prefix)
        now = time.monotonic()
        if count >= n or now > deadline:
            return count, now
        time.sleep(0.2)


def scratch_prefix() -> str:
    return f"bench{int(time.time())}"
