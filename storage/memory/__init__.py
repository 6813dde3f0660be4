"""The bounded, indexed in-memory span store."""

from pyjaeger.storage.memory.store import MemoryStore

__all__ = ["MemoryStore"]
