"""Errors shared across packages (kept apart so storage configs and pyjaeger.config can both use them)."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A flag's value is unusable; the message names the flag."""
