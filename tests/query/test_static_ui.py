"""`--query.static-files` and `--query.ui-config`: a Jaeger UI build served over a real socket, with
the placeholders of the UI v2.14.0 and v2.20.0 `index.html` rewritten as Jaeger rewrites them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyjaeger import __version__
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config
from pyjaeger.errors import ConfigError
from pyjaeger.query.config import QueryConfig
from pyjaeger.query.static_ui import RELOAD_INTERVAL, StaticUI

# The head of each UI build's index.html, cut down to the lines Jaeger's static handler looks for;
# those lines are as the jaeger-ui tags have them (packages/jaeger-ui/index.html, vite keeps them).
INDEX_V2_14 = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <base href="/" data-inject-target="BASE_URL" />
    <title>Jaeger UI</title>
    <script>
      // Important! Do not alter the following line; query-service looks for that exact pattern.
      // JAEGER_CONFIG_JS

      function getJaegerUiConfig() {
        if(typeof window.UIConfig === 'function') {
          return UIConfig();
        }
        const DEFAULT_CONFIG = null;
        // Important! Do not alter the following line; query-service looks for that exact pattern.
        const JAEGER_CONFIG = DEFAULT_CONFIG;
        return JAEGER_CONFIG;
      }
      function getJaegerStorageCapabilities() {
        const DEFAULT_STORAGE_CAPABILITIES = { "archiveStorage": false };
        const JAEGER_STORAGE_CAPABILITIES = DEFAULT_STORAGE_CAPABILITIES;
        return JAEGER_STORAGE_CAPABILITIES;
      }
      function getJaegerVersion() {
        const DEFAULT_VERSION = {'gitCommit':'', 'gitVersion':'', 'buildDate':''};
        // Important! Do not alter the following line; query-service looks for that exact pattern.
        const JAEGER_VERSION = DEFAULT_VERSION;
        return JAEGER_VERSION;
      }
    </script>
    <script type="module" crossorigin src="./static/index-Bq3xT9.js"></script>
  </head>
  <body>
    <div id="jaeger-ui-root"></div>
  </body>
</html>
"""

INDEX_V2_20 = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Jaeger UI</title>
    <script>
      // Important! Do not alter the following line; Jaeger looks for that exact pattern.
      // JAEGER_CONFIG_JS

      function getJaegerUiConfig() {
        if (typeof window.UIConfig === 'function') {
          return UIConfig();
        }
        const DEFAULT_CONFIG = null;
        // Important! Do not alter the following line; Jaeger looks for that exact pattern.
        const JAEGER_CONFIG = DEFAULT_CONFIG;
        return JAEGER_CONFIG;
      }
      function _getJaegerStorageCapabilities() {
        const DEFAULT_STORAGE_CAPABILITIES = { archiveStorage: false, metricsStorage: false };
        // Important! Do not alter the following line; Jaeger looks for that exact pattern.
        const JAEGER_STORAGE_CAPABILITIES = DEFAULT_STORAGE_CAPABILITIES;
        return JAEGER_STORAGE_CAPABILITIES;
      }
      function getJaegerBackendCapabilities() {
        const DEFAULT_BACKEND_CAPABILITIES = { ..._getJaegerStorageCapabilities(), aiAssistant: false };
        // Important! Do not alter the following line; Jaeger looks for that exact pattern.
        const JAEGER_BACKEND_CAPABILITIES = DEFAULT_BACKEND_CAPABILITIES;
        return JAEGER_BACKEND_CAPABILITIES;
      }
      function getJaegerVersion() {
        const DEFAULT_VERSION = { gitCommit: '', gitVersion: '', buildDate: '' };
        // Important! Do not alter the following line; Jaeger looks for that exact pattern.
        const JAEGER_VERSION = DEFAULT_VERSION;
        return JAEGER_VERSION;
      }
    </script>
    <script type="module" crossorigin src="./static/index-Bq3xT9.js"></script>
  </head>
  <body>
    <div id="jaeger-ui-root"></div>
  </body>
</html>
"""

BUILDS = {"v2.14": INDEX_V2_14, "v2.20": INDEX_V2_20}
ASSET = "static/index-Bq3xT9.js"
ASSET_BODY = b"console.log('jaeger-ui');\n"
VERSION = {"gitCommit": "", "gitVersion": f"pyjaeger-{__version__}", "buildDate": ""}
CAPS = {"archiveStorage": False, "metricsStorage": False}
BACKEND_CAPS = {**CAPS, "aiAssistant": False}


def ui_folder(tmp_path: Path, index: str) -> Path:
    root = tmp_path / "ui"
    (root / "static").mkdir(parents=True)
    (root / "index.html").write_text(index)
    (root / ASSET).write_bytes(ASSET_BODY)
    return root


def with_ui(config: Config, static_files: Path | str, ui_config: Path | str = "") -> Config:
    return replace(
        config, query=replace(config.query, static_files=str(static_files), ui_config=str(ui_config))
    )


async def started(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], root: Path, **kw: Any
) -> tuple[App, httpx.AsyncClient]:
    ui_config = kw.pop("ui_config", "")
    app: App = await make_app(config=with_ui(loopback_config(**kw), root, ui_config))
    port = app.server("query HTTP server").port  # type: ignore[attr-defined]
    return app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


def run_page(page: str) -> dict[str, Any]:
    """Run the page's inline script in node, as a browser would before the UI starts, and return
    what the UI then reads: a page whose rewrites are not valid JavaScript fails here."""
    node = shutil.which("node")
    assert node, "node is needed to run the served page's script (the e2e clients need it too)"
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    program = (
        "globalThis.window = globalThis;\n"
        "require('vm').runInThisContext(process.argv[1]);\n"
        "const caps = typeof getJaegerBackendCapabilities === 'function'"
        " ? getJaegerBackendCapabilities() : getJaegerStorageCapabilities();\n"
        "const storage = typeof getJaegerStorageCapabilities === 'function'"
        " ? getJaegerStorageCapabilities() : _getJaegerStorageCapabilities();\n"
        "const seen = {config: getJaegerUiConfig(), version: getJaegerVersion(), caps, storage};\n"
        "console.log(JSON.stringify(seen));\n"
    )
    out = subprocess.run(
        [node, "-e", program, script.group(1)], capture_output=True, text=True, timeout=30, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("build", sorted(BUILDS))
async def test_served_at_root_with_version_and_capabilities(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path, build: str
) -> None:
    root = ui_folder(tmp_path, BUILDS[build])
    _, c = await started(make_app, loopback_config, root)
    async with c:
        r = await c.get("/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["cache-control"] == "no-cache"
        page = r.text
        version = json.dumps(VERSION, separators=(",", ":"))
        assert f"const JAEGER_VERSION = {version};" in page
        assert 'const JAEGER_STORAGE_CAPABILITIES = {"archiveStorage":false,"metricsStorage":false};' in page
        if build == "v2.20":
            assert (
                "const JAEGER_BACKEND_CAPABILITIES = "
                '{"archiveStorage":false,"metricsStorage":false,"aiAssistant":false};' in page
            )
        # without --query.ui-config the UI keeps its defaults, and at / the base stays "/"
        assert "const JAEGER_CONFIG = DEFAULT_CONFIG;" in page and "// JAEGER_CONFIG_JS" in page
        assert page.count("<base") == BUILDS[build].count("<base")
        assert '<base href="/" data-inject-target' in page or build == "v2.20"
        seen = run_page(page)
        assert seen["config"] is None
        assert seen["version"] == VERSION
        assert seen["storage"] == CAPS
        assert seen["caps"] == (BACKEND_CAPS if build == "v2.20" else CAPS)

        # the SPA's own routes all get the same page; HEAD too
        for path in (
            "/search?service=frontend&limit=20",
            "/trace/0123456789abcdef",
            "/dependencies",
            "/x/y/z",
        ):
            r = await c.get(path)
            assert r.status_code == 200 and r.text == page, path
        assert (await c.head("/search")).status_code == 200

        r = await c.get("/" + ASSET)
        assert r.status_code == 200 and r.content == ASSET_BODY
        assert "javascript" in r.headers["content-type"]
        assert (await c.get("/" + ASSET, headers={"if-none-match": r.headers["etag"]})).status_code == 304
        assert (await c.get("/static/missing.js")).status_code == 404
        # never a file outside the folder
        assert (await c.get("/static/%2e%2e/%2e%2e/etc/passwd")).status_code == 404

        # the API is untouched; an unknown API path is a JSON 404, never the page
        assert (await c.get("/api/services")).json()["data"] == []
        for path in ("/api/nothing-here", "/api", "/api/v3/nothing-here", "/api/metrics/nope"):
            r = await c.get(path)
            assert r.status_code == 404, path
            assert "<html" not in r.text, path
        body = (await c.get("/api/nothing-here")).json()
        assert body["data"] is None and body["errors"][0]["code"] == 404


async def test_base_path(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    root = ui_folder(tmp_path, INDEX_V2_14)
    _, c = await started(make_app, loopback_config, root, base_path="/jaeger")
    async with c:
        r = await c.get("/jaeger/")
        assert r.status_code == 200
        # UI v2.14 resolves its assets and routes against <base>; v2.20 works it out itself
        assert '<base href="/jaeger/" data-inject-target="BASE_URL" />' in r.text
        assert '<base href="/"' not in r.text
        page = r.text
        assert (await c.get("/jaeger/search")).text == page
        assert (await c.get("/jaeger/trace/abc")).text == page
        r = await c.get("/jaeger")
        assert r.status_code in (307, 308) and r.headers["location"].endswith("/jaeger/")
        r = await c.get("/jaeger/" + ASSET)
        assert r.status_code == 200 and r.content == ASSET_BODY
        # nothing outside the base path
        assert (await c.get("/")).status_code == 404
        assert (await c.get("/" + ASSET)).status_code == 404
        assert (await c.get("/jaeger/api/services")).status_code == 200
        r = await c.get("/jaeger/api/nope")
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == 404
        assert (await c.get("/jaeger/api")).status_code == 404


async def test_base_path_leaves_a_v2_20_page_alone(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    root = ui_folder(tmp_path, INDEX_V2_20)
    _, c = await started(make_app, loopback_config, root, base_path="/tracing/ui")
    async with c:
        page = (await c.get("/tracing/ui/search")).text
        assert "<base" not in page
        assert run_page(page)["caps"] == BACKEND_CAPS


@pytest.mark.parametrize("build", sorted(BUILDS))
async def test_json_ui_config(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path, build: str
) -> None:
    root = ui_folder(tmp_path, BUILDS[build])
    config = {
        "monitor": {"menuEnabled": False},
        "dependencies": {"dagMaxNumServices": 200},
        "menu": [{"label": "</script><b>$1 & more", "url": "https://example.com/?a=1&b=2"}],
        "search": {"maxLimit": 1.5e3},
    }
    path = tmp_path / "ui-config.json"
    path.write_text(json.dumps(config))
    _, c = await started(make_app, loopback_config, root, ui_config=path)
    async with c:
        page = (await c.get("/")).text
        # Go's json.Marshal of a map: keys sorted, compact, HTML characters escaped, floats plain
        assert (
            "const JAEGER_CONFIG = "
            '{"dependencies":{"dagMaxNumServices":200},'
            '"menu":[{"label":"\\u003c/script\\u003e\\u003cb\\u003e$1 \\u0026 more",'
            '"url":"https://example.com/?a=1\\u0026b=2"}],'
            '"monitor":{"menuEnabled":false},"search":{"maxLimit":1500}};'
        ) in page
        assert "</script><b>" not in page
        assert "// JAEGER_CONFIG_JS" in page  # a JSON config leaves the JS hook alone
        assert run_page(page)["config"] == config


@pytest.mark.parametrize("build", sorted(BUILDS))
async def test_js_ui_config(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path, build: str
) -> None:
    root = ui_folder(tmp_path, BUILDS[build])
    path = tmp_path / "ui-config.js"
    path.write_text("\n  function UIConfig() {\n  return { menu: [{ label: 'About $0', url: 'x' }] };\n}\n\n")
    _, c = await started(make_app, loopback_config, root, ui_config=path)
    async with c:
        page = (await c.get("/")).text
        assert "JAEGER_CONFIG_JS" not in page
        # the comment line and the one after it give way to the file's text, trimmed
        assert "that exact pattern.\nfunction UIConfig() {\n" in page
        assert (
            "return { menu: [{ label: 'About $0', url: 'x' }] };\n}\n      function getJaegerUiConfig()"
            in page
        )
        assert "const JAEGER_CONFIG = DEFAULT_CONFIG;" in page
        assert run_page(page)["config"] == {"menu": [{"label": "About $0", "url": "x"}]}


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bad.json", "{not json", "cannot parse UI config file"),
        ("list.json", "[1, 2]", "cannot parse UI config file"),
        ("no-function.js", "const UIConfig = () => ({});", "must define function UIConfig()"),
        ("config.yaml", "menu: []", "expecting .js or .json"),
        ("missing.json", None, "cannot read UI config file"),
    ],
)
async def test_bad_ui_config_fails_the_start(
    make_app: Callable[..., Any],
    loopback_config: Callable[..., Config],
    tmp_path: Path,
    name: str,
    content: str | None,
    needle: str,
) -> None:
    root = ui_folder(tmp_path, INDEX_V2_20)
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=r"--query\.ui-config") as err:
        await make_app(config=with_ui(loopback_config(), root, path))
    assert needle in str(err.value) and name in str(err.value)


async def test_folder_without_index_fails_the_start(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    (tmp_path / "static").mkdir()
    with pytest.raises(ConfigError, match=r"--query\.static-files: .*index\.html"):
        await make_app(config=with_ui(loopback_config(), tmp_path))


async def test_folder_without_static_assets(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text(INDEX_V2_20)
    _, c = await started(make_app, loopback_config, tmp_path)
    async with c:
        assert (await c.get("/static/app.js")).status_code == 404
        assert (await c.get("/")).status_code == 200


async def test_static_paths_do_not_grow_the_route_labels(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], tmp_path: Path
) -> None:
    root = ui_folder(tmp_path, INDEX_V2_20)
    app, c = await started(make_app, loopback_config, root, base_path="/jaeger")
    async with c:
        for i in range(20):
            assert (await c.get(f"/jaeger/trace/{i:032x}")).status_code == 200
            assert (await c.get(f"/jaeger/static/chunk-{i}.js")).status_code == 404
        assert (await c.get("/jaeger/" + ASSET)).status_code == 200
    routes = {
        (s.labels["http_route"], s.labels["http_response_status_code"])
        for family in app.registry.collect()
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count" and s.labels["component"] == "query"
    }
    assert routes == {("/{path}", "200"), ("/static/{path}", "404"), ("/static/{path}", "200")}


def test_config_reload(tmp_path: Path) -> None:
    root = ui_folder(tmp_path, INDEX_V2_20)
    path = tmp_path / "ui.json"
    path.write_text('{"a": 1}')
    now = [0.0]
    ui = StaticUI(str(root), str(path), clock=lambda: now[0])
    assert b'JAEGER_CONFIG = {"a":1};' in ui.index_html()
    path.write_text('{"a": 22}')  # another size: seen as changed even within one mtime tick
    now[0] += RELOAD_INTERVAL - 1
    assert b'JAEGER_CONFIG = {"a":1};' in ui.index_html()  # not looked at yet
    now[0] += 1
    assert b'JAEGER_CONFIG = {"a":22};' in ui.index_html()
    path.write_text("{broken")
    now[0] += RELOAD_INTERVAL
    assert b'JAEGER_CONFIG = {"a":22};' in ui.index_html()  # the last good config stays
    path.write_text('{"b": true}')
    now[0] += RELOAD_INTERVAL
    assert b'JAEGER_CONFIG = {"b":true};' in ui.index_html()


@pytest.mark.parametrize(
    ("static", "ui", "needle"),
    [
        ("missing-dir", "", "--query.static-files: "),
        ("empty", "", "--query.static-files: "),
        ("", "ui.json", "--query.ui-config needs --query.static-files"),
        ("ui", "ui.yaml", "--query.ui-config: "),
        ("ui", "missing.json", "--query.ui-config: "),
    ],
)
def test_validate_names_the_flag(tmp_path: Path, static: str, ui: str, needle: str) -> None:
    ui_folder(tmp_path, INDEX_V2_20)
    (tmp_path / "empty").mkdir()
    (tmp_path / "ui.json").write_text("{}")
    (tmp_path / "ui.yaml").write_text("{}")
    config = QueryConfig(
        static_files=str(tmp_path / static) if static else "", ui_config=str(tmp_path / ui) if ui else ""
    )
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert needle in str(err.value)
    QueryConfig(static_files=str(tmp_path / "ui"), ui_config=str(tmp_path / "ui.json")).validate()
