"""The index templates Jaeger PUTs, rendered from the JSON files in `templates/`.

The files hold Jaeger v1.76.0's `internal/storage/v1/elasticsearch/mappings/jaeger-*-{7,8}.json`
as plain JSON with three kinds of placeholder, so they stay loadable and diffable:

- a whole string value `"{{shards}}"`, `"{{replicas}}"` or `"{{priority}}"` becomes that integer;
- `{{prefix}}` inside a string becomes the applied prefix (`""` or `"p-"`).

Jaeger's optional ILM parts (a read alias, and `lifecycle` in the settings) are added here, in
the places and order Jaeger's templates put them.

Jaeger's `jaeger-sampling-{7,8}.json` (installed only by `es-rollover --adaptive-sampling`) differ
from its dependencies files in two points, the name and `index.requests.cache.enable: false`;
`render_sampling_template` derives them so, rather than keeping two more near-copies.

ES 7 and every OpenSearch version take the legacy body (`PUT _template/<name>`, top-level
`settings`/`mappings`); ES 8 and 9 take the composable one (`PUT _index_template/<name>` with
`priority` and a `template` object). Jaeger's ES 7 patterns start with `*`, and its ES 7
dependencies pattern ignores the prefix; both are kept, since they are what Jaeger installs.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from pyjaeger.storage.elasticsearch.indices import DEPENDENCIES, SAMPLING, SERVICE, SPAN, apply_prefix

__all__ = [
    "KINDS",
    "NAMED_KINDS",
    "template_name",
    "template_path",
    "render_template",
    "render_sampling_template",
]

KINDS = (SPAN, SERVICE, DEPENDENCIES)
NAMED_KINDS = (*KINDS, SAMPLING)  # kinds with a template name; sampling renders apart


def template_name(kind: str, prefix: str) -> str:
    """`<prefix->jaeger-<kind>`: the name Jaeger (and es-rollover) give the template."""
    if kind not in NAMED_KINDS:
        raise ValueError(f"unknown template kind {kind!r} (one of: {', '.join(NAMED_KINDS)})")
    return apply_prefix(prefix, f"jaeger-{kind}")


def template_path(kind: str, es_version: int, prefix: str) -> str:
    """The request path the template is PUT to (no leading slash)."""
    api = "_index_template" if _file_version(es_version) >= 8 else "_template"
    return f"{api}/{template_name(kind, prefix)}"


def render_template(
    kind: str,
    es_version: int,
    *,
    prefix: str,
    shards: int,
    replicas: int,
    priority: int = 0,
    ilm_policy: str | None = None,
) -> dict[str, Any]:
    """The body Jaeger would PUT for `kind` on a cluster of major version `es_version`.

    `priority` only exists in ES ≥ 8 templates. `ilm_policy` (Jaeger's `--es.use-ilm` with
    `--es.ilm-policy-name`) adds the read alias and `lifecycle` settings.
    """
    version = _file_version(es_version)
    applied = apply_prefix(prefix, "")
    values: dict[str, Any] = {
        "{{shards}}": shards,
        "{{replicas}}": replicas,
        "{{priority}}": priority,
    }
    body = _substitute(_load(kind, version), values, applied)
    if ilm_policy is not None:
        body = _with_ilm(body, version, f"{applied}jaeger-{kind}", ilm_policy)
    return body  # type: ignore[no-any-return]


def render_sampling_template(
    es_version: int,
    *,
    prefix: str,
    shards: int,
    replicas: int,
    priority: int = 0,
    ilm_policy: str | None = None,
) -> dict[str, Any]:
    """Jaeger's adaptive-sampling template, as `render_template` renders the others."""
    version = _file_version(es_version)
    deps = render_template(
        DEPENDENCIES, version, prefix=prefix, shards=shards, replicas=replicas, priority=priority
    )
    body: dict[str, Any] = _renamed(deps, f"jaeger-{DEPENDENCIES}-", f"jaeger-{SAMPLING}-")
    settings = body["template"]["settings"] if version >= 8 else body["settings"]
    settings["index.requests.cache.enable"] = False
    if ilm_policy is not None:
        body = _with_ilm(body, version, apply_prefix(prefix, f"jaeger-{SAMPLING}"), ilm_policy)
    return body


def _renamed(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _renamed(v, old, new) for k, v in node.items()}
    if isinstance(node, str):
        return node.replace(old, new)
    return node


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown template kind {kind!r} (one of: {', '.join(KINDS)})")


def _file_version(es_version: int) -> int:
    if es_version < 7:
        raise ValueError(f"Elasticsearch {es_version} is not supported (7 or newer; OpenSearch counts as 7)")
    return min(es_version, 8)  # ES 9 uses the ES 8 templates, as in Jaeger


@functools.cache
def _load(kind: str, version: int) -> Any:
    _check_kind(kind)
    text = (
        resources.files("pyjaeger.storage.elasticsearch")
        .joinpath("templates", f"jaeger-{kind}-{version}.json")
        .read_text()
    )
    return json.loads(text)


def _substitute(node: Any, values: dict[str, Any], prefix: str) -> Any:
    """A new tree with the placeholders filled in (the cached original is never modified)."""
    if isinstance(node, dict):
        return {_substitute(k, values, prefix): _substitute(v, values, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values, prefix) for v in node]
    if isinstance(node, str):
        if node in values:
            return values[node]
        node = node.replace("{{prefix}}", prefix)
        if "{{" in node:
            raise ValueError(f"template placeholder left unfilled in {node!r}")
    return node


def _with_ilm(body: dict[str, Any], version: int, index: str, policy: str) -> dict[str, Any]:
    """Jaeger's `{{- if .UseILM }}` blocks: `aliases` right before `settings`, `lifecycle` last
    inside the settings (a rollover alias the es-rollover tool creates)."""
    outer = body["template"] if version >= 8 else body
    rebuilt: dict[str, Any] = {}
    for key, value in outer.items():
        if key == "settings":
            rebuilt["aliases"] = {f"{index}-read": {}}
            value = {**value, "lifecycle": {"name": policy, "rollover_alias": f"{index}-write"}}
        rebuilt[key] = value
    if version >= 8:
        return {**body, "template": rebuilt}
    return rebuilt
