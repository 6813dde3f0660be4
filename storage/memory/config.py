"""`MemoryConfig`: the `--memory.*` flags of the in-process store."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.errors import ConfigError

__all__ = ["MemoryConfig"]


@dataclass(slots=True, frozen=True)
class MemoryConfig:
    max_traces: int = 100_000  # 0: no limit

    def validate(self) -> None:
        if self.max_traces < 0:
            raise ConfigError("--memory.max-traces must be >= 0")
