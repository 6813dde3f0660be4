"""Garbage-collector settings for a long-running server that allocates in bursts.

Decoding allocates tens of objects per span, most of which die within the batch. With
CPython's default first-generation threshold (700 allocations) a collection runs several times per
batch and promotes the batch in flight to older generations, which makes full collections, each
walking everything the process keeps, run dozens of times per hundred thousand spans. Measured on
the ingest path (decode + memory store, 100-span batches): 18k spans/s at the default threshold,
about 65k at 20 000, with full collections going from ~60 to ~2 per 200k spans. The stored spans
themselves are untracked tuples (`storage/memory/packed.py`), so a larger threshold costs little
memory.
"""

from __future__ import annotations

import gc

__all__ = ["tune_gc", "freeze_startup_objects"]

GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, functions, servers) out of the collector's sight:
    it lives as long as the process, and full collections no longer walk it."""
    gc.collect()
    gc.freeze()
