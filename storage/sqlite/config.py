"""`SqliteConfig`: the `--sqlite.*` flags of the embedded persistent store (not Jaeger's: Jaeger's
single-node persistence, Badger, is Go only)."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.errors import ConfigError

__all__ = ["SqliteConfig", "DEFAULT_PATH", "DAY_US"]

DAY_US = 24 * 3600 * 1_000_000
DEFAULT_PATH = "./pyjaeger-data/traces.db"


@dataclass(slots=True, frozen=True)
class SqliteConfig:
    path: str = DEFAULT_PATH  # --sqlite.path: created (with its folder) when missing
    retention: int = 7 * DAY_US  # --sqlite.retention, µs: spans older than this are deleted
    max_size: int = 0  # --sqlite.max-size, bytes; 0: no limit but retention

    def validate(self) -> None:
        if not self.path:
            raise ConfigError("--sqlite.path must not be empty")
        if self.retention <= 0:
            raise ConfigError("--sqlite.retention must be > 0")
        if self.max_size < 0:
            raise ConfigError("--sqlite.max-size must be >= 0 (0: no limit)")
