"""The bodies of the reader's searches: pure functions of a query, in Jaeger's index layout.

Differences from Jaeger's reader, each for the storage contract (`storage.base`): tag values are
matched exactly (`term` queries, no regexp) and times to the µs (a `startTime` range beside
Jaeger's `startTimeMillis` one). Numbers are stored typed (Jaeger >= 1.69), and the keyword
Elasticsearch indexes for a float is the JSON text the writer sent, not Jaeger's `AsString`
(`%.10g`): a tag condition whose value reads as a number therefore only asks for the key, and
the reader checks the spans found (`conditions` says whether the query is exact).
"""

from __future__ import annotations

from typing import Any

from pyjaeger.storage.base import TraceQuery
from pyjaeger.storage.elasticsearch.config import HOUR_US
from pyjaeger.storage.elasticsearch.dbmodel import trace_id_text

__all__ = ["SPAN_SORT", "NEWEST_FIRST", "ALIAS_MARGIN_US", "trace_id_forms", "trace_body", "conditions"]

SPAN_SORT = [{"startTime": "asc"}, {"spanID": "asc"}, {"duration": "asc"}]
NEWEST_FIRST = [{"startTime": "desc"}, {"spanID": "desc"}, {"duration": "desc"}]
ALIAS_MARGIN_US = 24 * HOUR_US  # around a whole-trace read's window, with aliases


def trace_id_forms(trace_id: int) -> list[str]:
    """Every text a writer may have stored: 32 digits (Jaeger v2), 16 (v1 for 64-bit ids) and
    zero-trimmed (Jaeger < 1.16)."""
    forms = {trace_id_text(trace_id, pad=True), trace_id_text(trace_id), f"{trace_id:x}"}
    return sorted(forms)


def trace_body(trace_id: int, size: int, bounds: tuple[int, int] | None) -> dict[str, Any]:
    """One page of a trace's spans; `bounds` (µs) limits their start times (read through aliases)."""
    query: dict[str, Any] = {"terms": {"traceID": trace_id_forms(trace_id)}}
    if bounds is not None:
        start_ms = (bounds[0] - ALIAS_MARGIN_US) // 1000
        end_ms = -(-(bounds[1] + ALIAS_MARGIN_US) // 1000)
        millis = {"range": {"startTimeMillis": {"gte": start_ms, "lte": end_ms}}}
        query = {"bool": {"must": [query, millis]}}
    return {"query": query, "size": size, "sort": SPAN_SORT}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def conditions(
    q: TraceQuery, start: int, end: int, dot_replacement: str
) -> tuple[list[dict[str, Any]], bool]:
    """The bool `must` list of a search, and whether it is exact (no condition left to check on
    the spans found)."""
    must: list[dict[str, Any]] = [
        {"range": {"startTimeMillis": {"gte": start // 1000, "lte": -(-end // 1000)}}},
        {"range": {"startTime": {"gte": start, "lte": end}}},
    ]
    if q.duration_min is not None or q.duration_max is not None:
        duration: dict[str, int] = {}
        if q.duration_min is not None:
            duration["gte"] = q.duration_min
        if q.duration_max is not None:
            duration["lte"] = q.duration_max
        must.append({"range": {"duration": duration}})
    if q.service_name:
        must.append({"term": {"process.serviceName": q.service_name}})
    if q.operation_name:
        must.append({"term": {"operationName": q.operation_name}})
    exact = True
    for key, value in q.tags.items():
        numeric = _is_number(value)
        exact = exact and not numeric
        field = key.replace(".", dot_replacement)
        should: list[dict[str, Any]] = []
        for obj in ("tag", "process.tag"):
            name = f"{obj}.{field}"
            should.append({"exists": {"field": name}} if numeric else {"term": {name: value}})
        for path in ("tags", "process.tags", "logs.fields"):
            inner: list[dict[str, Any]] = [{"term": {f"{path}.key": key}}]
            if not numeric:
                inner.append({"term": {f"{path}.value": value}})
            should.append({"nested": {"path": path, "query": {"bool": {"must": inner}}}})
        must.append({"bool": {"should": should, "minimum_should_match": 1}})
    return must, exact
