"""Rendered index templates equal what Jaeger PUTs.

Two independent references (fixtures/jaeger/README.md): Jaeger's own rendered fixtures (ILM on),
and Jaeger's Go-template sources rendered here for any parameters, ILM on or off.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from pyjaeger.storage.elasticsearch.templates import KINDS, render_template, template_name, template_path

JAEGER = Path(__file__).parent / "fixtures" / "jaeger"
VERSIONS = (7, 8)
# mapping_test.go's parameters for the rendered fixtures.
FIXTURE_PRIORITY = {"span": 500, "service": 501, "dependencies": 502}
PLACEHOLDERS = {"{{prefix}}", "{{shards}}", "{{replicas}}", "{{priority}}"}


def go_render(kind: str, version: int, *, prefix: str, shards: int, replicas: int, priority: int,
              ilm_policy: str | None) -> Any:  # fmt: skip
    """Jaeger's template source through the little of Go's text/template it uses: one
    `if .UseILM` block kind and `{{ .Field }}` values. Whitespace trimming (`{{-`) is left out:
    the result is compared as JSON."""
    src = (JAEGER / "templates" / f"jaeger-{kind}-{version}.json.tmpl").read_text()
    src = re.sub(
        r"\{\{-?\s*if \.UseILM\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}",
        lambda m: m.group(1) if ilm_policy is not None else "",
        src,
        flags=re.S,
    )
    fields = {
        # MappingBuilder.renderMapping: IndexPrefix.Apply("") -> "" or "prefix-".
        "IndexPrefix": prefix + "-" if prefix and not prefix.endswith("-") else prefix,
        "Shards": shards,
        "Replicas": replicas,
        "Priority": priority,
        "ILMPolicyName": ilm_policy,
    }
    src = re.sub(r"\{\{-?\s*\.(\w+)\s*-?\}\}", lambda m: str(fields[m.group(1)]), src)
    assert "{{" not in src
    return json.loads(src)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_equals_jaegers_rendered_fixture(kind: str, version: int) -> None:
    expected = json.loads((JAEGER / "rendered-ilm" / f"jaeger-{kind}-{version}.json").read_text())
    got = render_template(
        kind,
        version,
        prefix="test-",
        shards=3,
        replicas=3,
        priority=FIXTURE_PRIORITY[kind],
        ilm_policy="jaeger-test-policy",
    )
    assert got == expected
    # Same key order too, so the request body reads like Jaeger's.
    assert json.dumps(got) == json.dumps(expected)
    # The test's Go-template stand-in agrees with Jaeger on Jaeger's own parameters.
    assert got == go_render(
        kind, version, prefix="test-", shards=3, replicas=3, priority=FIXTURE_PRIORITY[kind],
        ilm_policy="jaeger-test-policy",
    )  # fmt: skip


@pytest.mark.parametrize("prefix", ["", "prod", "prod-"])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_equals_jaegers_template_without_ilm(kind: str, version: int, prefix: str) -> None:
    # Jaeger's defaults: 5 shards, 1 replica, priority 0; and a one-node test cluster's 0 replicas.
    for shards, replicas, priority in ((5, 1, 0), (1, 0, 7)):
        got = render_template(
            kind, version, prefix=prefix, shards=shards, replicas=replicas, priority=priority
        )
        assert got == go_render(
            kind, version, prefix=prefix, shards=shards, replicas=replicas, priority=priority, ilm_policy=None
        )


def test_es9_uses_the_es8_templates_and_es6_is_refused() -> None:
    for kind in KINDS:
        args: dict[str, Any] = {"prefix": "p", "shards": 1, "replicas": 0, "priority": 3}
        assert render_template(kind, 9, **args) == render_template(kind, 8, **args)
    with pytest.raises(ValueError, match="not supported"):
        render_template("span", 6, prefix="", shards=1, replicas=0)
    with pytest.raises(ValueError, match="unknown template kind"):
        render_template("sampling", 8, prefix="", shards=1, replicas=0)


def test_shapes_that_differ_between_versions() -> None:
    v7 = render_template("span", 7, prefix="prod", shards=5, replicas=1, priority=9)
    v8 = render_template("span", 8, prefix="prod", shards=5, replicas=1, priority=9)
    assert v7["index_patterns"] == "*prod-jaeger-span-*"  # legacy: leading '*'
    assert "priority" not in v7 and v7["settings"]["index.number_of_shards"] == 5
    assert v8["index_patterns"] == "prod-jaeger-span-*"
    assert v8["priority"] == 9 and v8["template"]["settings"]["index.number_of_replicas"] == 1
    assert v7["mappings"] == v8["template"]["mappings"]
    # Jaeger's ES 7 dependencies pattern ignores the prefix; its ES 8 one does not.
    assert render_template("dependencies", 7, prefix="prod", shards=1, replicas=0)["index_patterns"] == (
        "*jaeger-dependencies-*"
    )
    assert render_template("dependencies", 8, prefix="prod", shards=1, replicas=0)["index_patterns"] == (
        "prod-jaeger-dependencies-*"
    )


def test_rendering_does_not_leak_between_calls() -> None:
    a = render_template("service", 8, prefix="a", shards=1, replicas=0, ilm_policy="pol")
    b = render_template("service", 8, prefix="b", shards=2, replicas=1)
    assert a["index_patterns"] == "a-jaeger-service-*" and "aliases" in a["template"]
    assert b["index_patterns"] == "b-jaeger-service-*" and "aliases" not in b["template"]
    assert "lifecycle" not in b["template"]["settings"]


def test_names_and_paths() -> None:
    assert template_name("span", "") == "jaeger-span"
    assert template_name("service", "prod") == "prod-jaeger-service"
    assert template_name("dependencies", "prod-") == "prod-jaeger-dependencies"
    assert template_path("span", 7, "prod") == "_template/prod-jaeger-span"
    assert template_path("span", 8, "") == "_index_template/jaeger-span"
    assert template_path("service", 9, "") == "_index_template/jaeger-service"


def test_template_files_are_plain_json_with_known_placeholders() -> None:
    folder = resources.files("pyjaeger.storage.elasticsearch").joinpath("templates")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    assert names == sorted(f"jaeger-{k}-{v}.json" for k in KINDS for v in VERSIONS)
    for name in names:
        text = folder.joinpath(name).read_text()
        json.loads(text)
        assert set(re.findall(r"\{\{[^}]*\}\}", text)) <= PLACEHOLDERS
