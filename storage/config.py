"""`StorageConfig`: which backend (`--span-storage.type`) and each backend's own config."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig
from pyjaeger.storage.memory.config import MemoryConfig
from pyjaeger.storage.sqlite.config import SqliteConfig

__all__ = ["StorageConfig", "STORAGE_TYPES"]

STORAGE_TYPES = ("memory", "sqlite", "elasticsearch")


@dataclass(slots=True, frozen=True)
class StorageConfig:
    span_storage_type: str = "memory"
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    elasticsearch: ElasticsearchConfig = field(default_factory=ElasticsearchConfig)
    sqlite: SqliteConfig = field(default_factory=SqliteConfig)

    def validate(self) -> None:
        if self.span_storage_type not in STORAGE_TYPES:
            raise ConfigError(
                f"--span-storage.type: unknown storage type {self.span_storage_type!r}"
                f" (one of: {', '.join(STORAGE_TYPES)})"
            )
        self.memory.validate()
        if self.span_storage_type == "elasticsearch":
            self.elasticsearch.validate()
        if self.span_storage_type == "sqlite":
            self.sqlite.validate()
