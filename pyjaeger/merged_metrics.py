"""One `/metrics` for several processes: what ingest worker processes count, added into the
families of the process that serves `/metrics`.

A worker sends `local_samples` of its registry now and then (cumulative values, so a lost or late
snapshot costs nothing); the owner keeps the latest per worker, and when a worker is gone keeps
its last values as retired, so totals never go down while workers come and go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["Sample", "local_samples", "MergedCollector"]

# (sample name, sorted label pairs, value): plain data, to cross a process boundary with marshal.
Sample = tuple[str, tuple[tuple[str, str], ...], float]


def local_samples(registry: CollectorRegistry) -> list[Sample]:
    """Every cumulative sample of `registry` (`_created` timestamps are the process's own)."""
    return [
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    ]


class MergedCollector(Collector):
    """The families of `local` (collectors of this process, not registered anywhere else) with
    the samples of other processes added, matched by sample name and labels."""

    def __init__(self, local: Iterable[Any]) -> None:
        self._local = list(local)
        self._current: dict[int, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        self._retired: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def update(self, source: int, samples: Iterable[Sample]) -> None:
        self._current[source] = {(name, labels): value for name, labels, value in samples}

    def retire(self, source: int) -> None:
        """`source` is gone: its last values stay in the totals."""
        for key, value in self._current.pop(source, {}).items():
            self._retired[key] = self._retired.get(key, 0.0) + value

    def _remote(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        total = dict(self._retired)
        for samples in self._current.values():
            for key, value in samples.items():
                total[key] = total.get(key, 0.0) + value
        return total

    def collect(self) -> Iterator[Metric]:
        remote = self._remote()
        for c in self._local:
            for family in c.collect():
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                seen = set()
                for s in family.samples:
                    key = (s.name, tuple(sorted(s.labels.items())))
                    seen.add(key)
                    merged.add_sample(
                        s.name, s.labels, s.value + remote.get(key, 0.0), s.timestamp, s.exemplar
                    )
                # Label sets only other processes have seen, in the order Prometheus expects for
                # a histogram (buckets by bound, then count and sum): the order they were sent in.
                for (name, labels), value in remote.items():
                    if (name, labels) not in seen and _belongs(name, family.name):
                        merged.add_sample(name, dict(labels), value)
                yield merged


def _belongs(sample: str, family: str) -> bool:
    return sample == family or (sample.startswith(family) and sample[len(family) :] in _SUFFIXES)


_SUFFIXES = frozenset({"_bucket", "_count", "_sum", "_total", "_gcount", "_gsum"})
