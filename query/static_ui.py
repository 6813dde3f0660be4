"""A Jaeger UI build served from `--query.static-files`, configured as Jaeger's static handler does.

The UI fetches no configuration: the server rewrites placeholders in `index.html` when it serves
it, and the UI reads them as it starts. Jaeger v2.20 rewrites
- `JAEGER_CONFIG = DEFAULT_CONFIG;` with the `--query.ui-config` JSON object (compact, keys
  sorted, HTML characters escaped, as Go's `json.Marshal` of a map writes it), or, for a `.js`
  config, the `// JAEGER_CONFIG_JS` comment line and the line after it with the file's text
  (trimmed; it must define `function UIConfig()`);
- `JAEGER_VERSION = DEFAULT_VERSION;` with `{"gitCommit","gitVersion","buildDate"}`;
- `JAEGER_BACKEND_CAPABILITIES = DEFAULT_BACKEND_CAPABILITIES;` with `{"archiveStorage",
  "metricsStorage","aiAssistant"}`.
Jaeger up to v2.14 rewrote `JAEGER_STORAGE_CAPABILITIES = DEFAULT_STORAGE_CAPABILITIES;` (with
`{"archiveStorage"}`) instead, and `<base href="/"` with `<base href="{base-path}/"`. UI builds up
to v2.14 need those two and later builds ignore them (v2.20 works out its base in the page), so
every rewrite is applied and one server serves either build.

Requests: `{base}/static/...` are files under the folder's `static/` (where Vite puts a build's
assets; ETag and Last-Modified, 304 on a match), everything else below the base is the SPA's own
routing and gets `index.html`. The `/api` routes are mounted before these, so an unknown API
path stays a JSON 404. Route templates are `/static/{path}` and `/{path}`: static paths never become
metric labels.

Start-up fails (a `ConfigError` naming the flag) when `index.html` cannot be read or the UI config
cannot be read or parsed, as Jaeger refuses to start. Later, like Jaeger v2.20, a changed UI
config file is picked up within `RELOAD_INTERVAL` seconds; a change that does not parse is
logged and the previous config kept.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pyjaeger import __version__
from pyjaeger.errors import ConfigError
from pyjaeger.gotext import json as go_json
from pyjaeger.json_kind import json_kind

__all__ = ["RELOAD_INTERVAL", "Capabilities", "StaticUI", "static_ui_routes"]

log = logging.getLogger(__name__)

RELOAD_INTERVAL = 10.0  # s between looks at the UI config file (Jaeger's uiConfigReloadInterval)

_CONFIG = re.compile(rb"JAEGER_CONFIG *= *DEFAULT_CONFIG;")
# The comment line and the one after it; Go's (?m)^\s* may start on blank lines before it.
_CONFIG_JS = re.compile(rb"(?im)^\s*//\s*JAEGER_CONFIG_JS.*\n.*")
_UICONFIG_FUNCTION = re.compile(rb"function\s+UIConfig(\s)?\(\s?\)(\s)?{")
_VERSION = re.compile(rb"JAEGER_VERSION *= *DEFAULT_VERSION;")
_STORAGE_CAPABILITIES = re.compile(rb"JAEGER_STORAGE_CAPABILITIES *= *DEFAULT_STORAGE_CAPABILITIES;")
_BACKEND_CAPABILITIES = re.compile(rb"JAEGER_BACKEND_CAPABILITIES *= *DEFAULT_BACKEND_CAPABILITIES;")
_BASE_HREF = re.compile(rb'<base href="/"')  # the tag is left open: its other attributes stay


@dataclass(slots=True, frozen=True)
class Capabilities:
    """What the backend offers beyond search, shown to the UI (it hides what is off)."""

    archive_storage: bool = False  # POST /api/archive/{id}
    metrics_storage: bool = False  # /api/metrics/* (the Monitor tab)
    ai_assistant: bool = False  # the chat panel of UI v2.20


@dataclass(slots=True, frozen=True)
class _UIConfig:
    pattern: re.Pattern[bytes]
    text: bytes  # what replaces the pattern's match


def _load_ui_config(path: str) -> _UIConfig:
    """The `--query.ui-config` file as its index.html rewrite; ConfigError naming the flag when
    it cannot be read, is neither `.json` nor `.js`, or does not parse."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".json", ".js"):
        raise ConfigError(
            f"--query.ui-config: unrecognized UI config file format, expecting .js or .json file: {path}"
        )
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(
            f"--query.ui-config: cannot read UI config file {path}: {e.strerror or e}"
        ) from None
    if ext == ".js":
        text = data.strip()
        if not _UICONFIG_FUNCTION.search(text):
            raise ConfigError(f"--query.ui-config: UI config file must define function UIConfig(): {path}")
        return _UIConfig(_CONFIG_JS, text)
    try:
        doc = go_json.loads(data)
    except ValueError as e:
        raise ConfigError(f"--query.ui-config: cannot parse UI config file {path}: {e}") from None
    # Go unmarshals into map[string]any: null is an empty (nil) map, anything else not an object fails.
    if doc is not None and not isinstance(doc, dict):
        raise ConfigError(
            f"--query.ui-config: cannot parse UI config file {path}: expected an object, got {json_kind(doc)}"
        )
    try:
        text = go_json.marshal(doc).encode()
    except ValueError as e:  # numbers beyond float range
        raise ConfigError(f"--query.ui-config: cannot parse UI config file {path}: {e}") from None
    return _UIConfig(_CONFIG, b"JAEGER_CONFIG = " + text + b";")


def _replace(pattern: re.Pattern[bytes], text: bytes, page: bytes) -> bytes:
    # A function, not a template: Go's ReplaceAll expands `$name` in the replacement, which would
    # mangle a config holding a dollar sign; here the text goes in as it is.
    return pattern.sub(lambda _: text, page)


class StaticUI:
    """One UI build: its `index.html` as read at start, and the config rewritten into it."""

    def __init__(
        self,
        static_files: str,
        ui_config: str = "",
        base_path: str = "/",
        capabilities: Capabilities | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(static_files)
        index = self.root / "index.html"
        try:
            self._raw = index.read_bytes()
        except OSError as e:
            raise ConfigError(f"--query.static-files: cannot load {index}: {e.strerror or e}") from None
        self._base_path = base_path
        self._clock = clock
        self._config_path = ui_config
        self._config = _load_ui_config(ui_config) if ui_config else None
        self._config_stamp = self._stamp()
        self._next_check = clock() + RELOAD_INTERVAL
        self._fixed = self._fixed_parts(capabilities or Capabilities())
        self._page = self._render()

    def _fixed_parts(self, caps: Capabilities) -> list[tuple[re.Pattern[bytes], bytes]]:
        version = go_json.marshal(
            {"gitCommit": "", "gitVersion": f"pyjaeger-{__version__}", "buildDate": ""}, sort_keys=False
        )
        storage = go_json.marshal(
            {"archiveStorage": caps.archive_storage, "metricsStorage": caps.metrics_storage}, sort_keys=False
        )
        backend = go_json.marshal(
            {
                "archiveStorage": caps.archive_storage,
                "metricsStorage": caps.metrics_storage,
                "aiAssistant": caps.ai_assistant,
            },
            sort_keys=False,
        )
        parts = [
            (_VERSION, f"JAEGER_VERSION = {version};".encode()),
            (_STORAGE_CAPABILITIES, f"JAEGER_STORAGE_CAPABILITIES = {storage};".encode()),
            (_BACKEND_CAPABILITIES, f"JAEGER_BACKEND_CAPABILITIES = {backend};".encode()),
        ]
        if self._base_path != "/":
            parts.append((_BASE_HREF, f'<base href="{self._base_path}/"'.encode()))
        return parts

    def _render(self) -> bytes:
        page = self._raw
        if self._config is not None:
            page = _replace(self._config.pattern, self._config.text, page)
        for pattern, text in self._fixed:
            page = _replace(pattern, text, page)
        return page

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._config_path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _maybe_reload(self) -> None:
        now = self._clock()
        if not self._config_path or now < self._next_check:
            return
        self._next_check = now + RELOAD_INTERVAL
        stamp = self._stamp()
        if stamp == self._config_stamp:
            return
        try:
            config = _load_ui_config(self._config_path)
        except ConfigError as e:
            # A half-written or broken edit must not take the UI down: keep serving the last good one.
            log.error("could not reload the UI config; keeping the previous one: %s", e)
            return
        self._config_stamp = stamp
        self._config = config
        self._page = self._render()
        log.info("reloaded the UI config from %s", self._config_path)

    def index_html(self) -> bytes:
        """`index.html` with every placeholder rewritten, the UI config as of at most
        `RELOAD_INTERVAL` seconds ago."""
        self._maybe_reload()
        return self._page

    def routes(self) -> list[BaseRoute]:
        """The static files and the SPA fallback below the base path; mount them after `/api`."""
        prefix = "" if self._base_path == "/" else self._base_path

        async def spa(request: Request) -> Response:
            # The page changes with the UI config: browsers must ask again (as its meta tags say).
            return Response(
                self.index_html(),
                media_type="text/html; charset=utf-8",
                headers={"Cache-Control": "no-cache"},
            )

        assets = self.root / "static"
        if assets.is_dir():
            static: BaseRoute = Mount(f"{prefix}/static", app=StaticFiles(directory=assets))
        else:
            # Nothing to serve (StaticFiles would fail on its first request): every asset is a 404.
            static = Mount(f"{prefix}/static", routes=[])
        return [static, Route(f"{prefix}/{{path:path}}", spa, methods=["GET", "HEAD"])]


def static_ui_routes(
    static_files: str, ui_config: str, base_path: str, capabilities: Capabilities | None = None
) -> list[BaseRoute]:
    """The UI's routes, or none without `--query.static-files` (a UI config is then unused)."""
    if not static_files:
        return []
    return StaticUI(static_files, ui_config, base_path, capabilities).routes()
