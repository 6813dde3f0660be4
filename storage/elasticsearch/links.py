"""Service-to-service links counted from the spans of one trace.

One rule for both places that derive links from stored spans: the reader's fallback (no links
stored for the window) and the `es-dependencies` job that stores them. Both must give the same
answer for the same spans, so that `/api/dependencies` does not change when the job starts
running. The memory store applies the same rule to its packed spans (`storage/memory/store.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyjaeger.model import DependencyLink, Span

__all__ = ["LinkCounts", "count_links", "to_links"]

LinkCounts = dict[tuple[str, str], int]  # (parent service, child service) → calls


def count_links(spans: Sequence[Span], counts: LinkCounts) -> None:
    """Add one call to `counts` for every span of one trace whose parent span (Jaeger's rule:
    first same-trace CHILD_OF, else FOLLOWS_FROM) is in `spans` and has another service.

    Links to a span of the same service are left out: they are a service's internal structure,
    not a call between services, and the dependency graph would show them as self-loops.
    """
    service_of = {s.span_id: s.process.service_name for s in spans}
    for s in spans:
        parent = s.parent_span_id
        if not parent:
            continue
        parent_svc = service_of.get(parent)
        child_svc = s.process.service_name
        if parent_svc is not None and parent_svc != child_svc:
            counts[parent_svc, child_svc] = counts.get((parent_svc, child_svc), 0) + 1


def to_links(counts: Mapping[tuple[str, str], int]) -> list[DependencyLink]:
    """The counted links, sorted by parent then child so every answer comes in one order."""
    return [DependencyLink(p, c, n) for (p, c), n in sorted(counts.items())]
