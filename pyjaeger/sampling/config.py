"""`SamplingConfig`: the `--sampling.*` flags of the strategies the collector serves."""

from __future__ import annotations

from dataclasses import dataclass

from pyjaeger.errors import ConfigError

__all__ = ["SamplingConfig"]


@dataclass(slots=True, frozen=True)
class SamplingConfig:
    strategies_file: str = ""  # empty: --sampling.default-sampling-probability for every service
    reload_interval: float = 0.0  # seconds; 0: never reload
    default_probability: float = 0.001

    def validate(self) -> None:
        if self.reload_interval < 0:
            raise ConfigError("--sampling.strategies-reload-interval must be >= 0")
        if not 0 <= self.default_probability <= 1:
            raise ConfigError("--sampling.default-sampling-probability must be within [0, 1]")
