"""Service-to-service links counted from the spans of one trace.

One rule for every place that derives links from stored spans: the memory and sqlite stores, the
Elasticsearch reader's fallback (no links stored for the window) and the `es-dependencies` job
that stores them. All must give the same answer for the same spans, so that `/api/dependencies`
does not change with the backend, nor when the job starts running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pyjaeger.model import DependencyLink, Span

__all__ = ["LinkCounts", "LinkNode", "count_links", "count_link_nodes", "to_links"]

LinkCounts = dict[tuple[str, str], int]  # (parent service, child service) → calls
LinkNode = tuple[int, int, str]  # (span id, parent span id or 0, service name)


def count_links(spans: Sequence[Span], counts: LinkCounts) -> None:
    """`count_link_nodes` for model spans of one trace."""
    count_link_nodes([(s.span_id, s.parent_span_id, s.process.service_name) for s in spans], counts)


def count_link_nodes(nodes: Iterable[LinkNode], counts: LinkCounts) -> None:
    """Add one call to `counts` for every span of one trace whose parent span (Jaeger's rule:
    first same-trace CHILD_OF, else FOLLOWS_FROM) is among `nodes` and has another service.

    Stores that keep spans packed pass (span id, parent id, service) without building spans.
    Links to a span of the same service are left out: they are a service's internal structure,
    not a call between services, and the dependency graph would show them as self-loops.
    """
    nodes = list(nodes)
    service_of = {span_id: service for span_id, _, service in nodes}
    for _, parent, child_svc in nodes:
        if not parent:
            continue
        parent_svc = service_of.get(parent)
        if parent_svc is not None and parent_svc != child_svc:
            counts[parent_svc, child_svc] = counts.get((parent_svc, child_svc), 0) + 1


def to_links(counts: Mapping[tuple[str, str], int]) -> list[DependencyLink]:
    """The counted links, sorted by parent then child so every answer comes in one order."""
    return [DependencyLink(p, c, n) for (p, c), n in sorted(counts.items())]
