"""The file-based strategy provider (`--sampling.strategies-file`), as Jaeger's `file` provider.

The source is a local path or an http(s) URL. It is read once at `start`, where an unusable
source is fatal; with a reload interval it is read again on that period, and a failed read or a
document that does not parse is logged and the last good strategies stay in force. A URL answering
503 means "no strategies": the defaults apply.

`get` is a dictionary look-up on an immutable snapshot that reloads replace whole, so request
handlers never see a half-applied document.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit

from pyjaeger.sampling.model import SamplingStrategy, default_strategy
from pyjaeger.sampling.strategies_file import (
    DEFAULT_SAMPLING_PROBABILITY,
    Strategies,
    StrategiesError,
    parse_strategies,
)

__all__ = ["StrategyProvider"]

log = logging.getLogger(__name__)

# Jaeger's download deadline for a URL source, for the whole request.
_DOWNLOAD_TIMEOUT = 1.0
# What an unavailable URL source stands for: a document with no strategies.
_NULL_DOCUMENT = b"null"


class StrategyProvider:
    """Looks up a service's sampling strategy in a strategies file or URL.

    `path` "" means no source: every service gets probabilistic `default_probability`.
    `reload_interval` is in seconds; 0 loads once.
    """

    def __init__(
        self,
        path: str = "",
        reload_interval: float = 0.0,
        default_probability: float = DEFAULT_SAMPLING_PROBABILITY,
    ) -> None:
        if not 0.0 <= default_probability <= 1.0:
            raise ValueError(
                f"--sampling.default-sampling-probability must be between 0 and 1, got {default_probability}"
            )
        if reload_interval < 0:
            raise ValueError(f"--sampling.strategies-reload-interval must be >= 0, got {reload_interval}")
        self._source = path
        self._is_url = _is_url(path)
        self._reload_interval = reload_interval
        self._default_probability = default_probability
        # Served until start() has loaded the source, and whenever the source has no strategies.
        self._strategies = Strategies(default_strategy(default_probability))
        # The bytes behind _strategies: an unchanged source is not parsed (and warned about) again.
        self._last_document: bytes | None = None
        self._reload_task: asyncio.Task[None] | None = None

    def get(self, service: str) -> SamplingStrategy:
        """The strategy for `service`: its own entry if the source names it, else the default."""
        return self._strategies.get(service)

    async def start(self) -> None:
        """Load the source; raises OSError (unreadable) or StrategiesError (unparsable)."""
        if self._reload_task is not None:
            return
        if not self._source:
            log.info("No sampling strategies source provided, using defaults")
            return
        document = await self._read()
        try:
            strategies = parse_strategies(document, self._default_probability)
        except StrategiesError as e:
            raise StrategiesError(f"sampling strategies from {self._source}: {e}") from e
        self._strategies = strategies
        self._last_document = document
        if document.strip() == _NULL_DOCUMENT:
            log.info("No sampling strategies found in %s, using defaults", self._source)
        else:
            log.info("Loaded sampling strategies from %s", self._source)
        # Jaeger never reloads a source that was empty or unavailable at start-up; reloading it
        # anyway lets a URL that was briefly down at boot take effect later.
        if self._reload_interval > 0:
            self._reload_task = asyncio.create_task(self._reload_loop(), name="sampling-strategies-reload")

    async def stop(self) -> None:
        """Stop reloading; safe before start and when called twice."""
        task, self._reload_task = self._reload_task, None
        if task is None:
            return
        task.cancel()
        # wait() neither raises the task's CancelledError nor hides our own cancellation.
        await asyncio.wait({task})

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self._reload_interval)
            try:
                await self.reload()
            except Exception:
                # A bug here must not end reloading for the life of the process.
                log.exception("unexpected error while reloading sampling strategies")

    async def reload(self) -> bool:
        """Read the source again and apply it if it changed and parses; True when applied.

        Failures are logged, never raised: the strategies in force stay.
        """
        try:
            document = await self._read()
        except OSError as e:
            log.error("failed to re-load sampling strategies: %s", e)
            return False
        if document == self._last_document:
            return False
        try:
            strategies = parse_strategies(document, self._default_probability)
        except StrategiesError as e:
            log.error(
                "failed to update sampling strategies from %s, keeping the previous ones: %s", self._source, e
            )
            return False
        self._strategies = strategies
        self._last_document = document
        log.info("Updated sampling strategies from %s", self._source)
        return True

    async def _read(self) -> bytes:
        if self._is_url:
            return await self._download()
        try:
            return await asyncio.to_thread(Path(self._source).read_bytes)
        except OSError as e:
            reason = e.strerror or str(e)
            message = f"failed to read sampling strategies file (--sampling.strategies-file): {reason}"
            # OSError(errno, ...) keeps the subclass (FileNotFoundError, PermissionError, ...).
            raise OSError(e.errno, message, self._source) from e

    async def _download(self) -> bytes:
        try:
            import httpx
        except ImportError as e:  # pragma: no cover - httpx ships with the test extra
            raise OSError(f"a strategies URL ({self._source}) needs the httpx package") from e
        url = self._source
        log.debug("Downloading sampling strategies from %s", url)
        try:
            async with httpx.AsyncClient(timeout=_DOWNLOAD_TIMEOUT) as client:
                response = await asyncio.wait_for(client.get(url), _DOWNLOAD_TIMEOUT)
        except (httpx.HTTPError, asyncio.TimeoutError) as e:
            raise OSError(f"failed to download sampling strategies from {url}: {e!r}") from e
        if response.status_code == 503:
            return _NULL_DOCUMENT
        if response.status_code != 200:
            raise OSError(
                f"receiving {response.status_code} {response.reason_phrase} while downloading"
                f" strategies from {url}: {response.text[:200]}"
            )
        return response.content


def _is_url(source: str) -> bool:
    # Go's test: a scheme and a host. A Windows path such as C:\x has no host.
    try:
        parts = urlsplit(source)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)
