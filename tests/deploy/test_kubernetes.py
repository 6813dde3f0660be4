"""docker/kubernetes/: every kustomize overlay renders, passes `kubernetes-validate --strict`, and wires
pyjaeger up the way users rely on (ports, probes, scrape annotations, env, secrets, sampling file).

The tools come from scripts/kubernetes-tools.sh (kustomize built with `go install`, kubernetes-validate
in a venv; both cached under .cache/). If they cannot be built the tests fail: a skipped check would
look like a passing one.

The wiring checks read each pyjaeger container the way pyjaeger itself would: its args go through
`pyjaeger.cmd.cli.build_parser()`, its env through `pyjaeger.cmd.flags.build_config`, and the ports,
probes and annotations are compared with the Config that results. They return lists of problems, so the
mutation tests below can show that each check catches the breakage it is for.
"""

from __future__ import annotations

import argparse
import base64
import copy
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import pyjaeger
from pyjaeger.cmd.cli import build_parser
from pyjaeger.cmd.config import Config
from pyjaeger.cmd.flags import COMMANDS, build_config
from pyjaeger.errors import ConfigError
from pyjaeger.sampling.strategies_file import StrategiesError, parse_strategies

REPO = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = REPO / "docker" / "kubernetes"
OVERLAYS = ("all-in-one", "production", "agent-daemonset", "agent-sidecar")
# The agent overlays report to a pyjaeger-collector Service that these provide.
COLLECTOR_OVERLAYS = ("all-in-one", "production")
# The newest Kubernetes whose schemas the pinned kubernetes-validate (1.37.0) bundles.
KUBERNETES_VERSION = "1.37.0"
IMAGE = "pyjaeger/pyjaeger"
# Stands in for status.hostIP when a container's env is resolved as the kubelet would.
NODE_IP = "10.0.0.7"
TOOLS_TIMEOUT_S = 900
RUN_TIMEOUT_S = 120
WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob")

Doc = dict[str, Any]


@dataclass(frozen=True)
class Tools:
    kustomize: Path
    validate: Path


def _run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=REPO
    )


@pytest.fixture(scope="module")
def tools() -> Tools:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "kubernetes-tools.sh")],
        capture_output=True,
        text=True,
        timeout=TOOLS_TIMEOUT_S,
        check=False,
        cwd=REPO,
        # The interpreter running the tests builds the kubernetes-validate venv.
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert proc.returncode == 0, f"scripts/kubernetes-tools.sh failed:\n{proc.stdout}\n{proc.stderr}"
    paths = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    found = Tools(Path(paths["kustomize"]), Path(paths["kubernetes-validate"]))
    assert os.access(found.kustomize, os.X_OK) and os.access(found.validate, os.X_OK), found
    return found


@pytest.fixture(scope="module")
def rendered(tools: Tools) -> dict[str, str]:
    """overlay → the YAML `kustomize build` makes of it."""
    out = {}
    for overlay in OVERLAYS:
        proc = _run([str(tools.kustomize), "build", str(KUBERNETES_DIR / "overlays" / overlay)])
        assert proc.returncode == 0, f"kustomize build {overlay}:\n{proc.stderr}"
        out[overlay] = proc.stdout
    return out


@pytest.fixture(scope="module")
def docs(rendered: dict[str, str]) -> dict[str, list[Doc]]:
    return {overlay: [d for d in yaml.safe_load_all(text) if d] for overlay, text in rendered.items()}


def validate(tools: Tools, text: str) -> subprocess.CompletedProcess[str]:
    return _run([str(tools.validate), "--strict", "-k", KUBERNETES_VERSION, "-"], stdin=text)


# --- reading the rendered objects ---------------------------------------------------------------


@dataclass
class Container:
    workload: Doc
    pod: Doc  # the pod template: metadata + spec
    spec: Doc
    init: bool

    @property
    def where(self) -> str:
        return f"{self.workload['kind']}/{self.workload['metadata']['name']} container {self.spec['name']}"

    @property
    def is_pyjaeger_command(self) -> bool:
        """Runs the image's entrypoint (pyjaeger), not a command of its own (the example app)."""
        return self.spec["image"].split(":")[0] == IMAGE and "command" not in self.spec

    @property
    def command(self) -> str:
        return str(self.spec.get("args", ["all-in-one"])[0])

    def port_number(self, port: int | str) -> int | None:
        if isinstance(port, int):
            return port
        for p in self.spec.get("ports", []):
            if p.get("name") == port:
                return int(p["containerPort"])
        return None


def pod_template(workload: Doc) -> Doc:
    if workload["kind"] == "CronJob":
        return dict(workload["spec"]["jobTemplate"]["spec"]["template"])
    return dict(workload["spec"]["template"])


def containers(docs: list[Doc]) -> Iterator[Container]:
    for d in docs:
        if d["kind"] in WORKLOAD_KINDS:
            pod = pod_template(d)
            for init, key in ((True, "initContainers"), (False, "containers")):
                for c in pod["spec"].get(key, []):
                    yield Container(d, pod, c, init)


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def secret_data(secret: Doc) -> dict[str, str]:
    """A Secret's keys and values: `data` is base64, `stringData` (written over it) plain."""
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    return {**data, **(secret.get("stringData") or {})}


def env_value(c: Container, docs: list[Doc], var: Doc) -> str:
    """What the kubelet would put in the variable, `$(NAME)` references left as written."""
    if "value" in var:
        return str(var["value"])
    source = var["valueFrom"]
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        for secret in find(docs, "Secret", ref["name"]):
            return secret_data(secret)[ref["key"]]
        raise KeyError(f"{c.where}: env {var['name']}: no Secret {ref['name']} in the overlay")
    if source.get("fieldRef", {}).get("fieldPath") == "status.hostIP":
        return NODE_IP
    raise KeyError(f"{c.where}: env {var['name']}: unhandled source {source}")


def parse_args(c: Container) -> Any:
    try:
        return build_parser().parse_args(c.spec.get("args", []))
    except SystemExit as e:
        raise AssertionError(f"{c.where}: pyjaeger rejects args {c.spec.get('args')}") from e


def config_of(c: Container, docs: list[Doc]) -> Config:
    """The Config pyjaeger would run with, from the container's args and env."""
    env = {v["name"]: env_value(c, docs, v) for v in c.spec.get("env", [])}
    return build_config(c.command, parse_args(c), env)


def config_or_none(c: Container, docs: list[Doc]) -> Config | None:
    """config_of, or None where pyjaeger would not start (check_servers reports that)."""
    try:
        return config_of(c, docs)
    except (AssertionError, ConfigError, KeyError):
        return None


def command_envs(command: str) -> set[str]:
    """The environment variables a sub-command reads: every flag's help names its variable."""
    # argparse has no public way to reach a sub-parser or its arguments.
    subs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    sub = subs.choices[command]
    return {m for a in sub._actions for m in re.findall(r"\benv ([A-Z][A-Z0-9_]+)", a.help or "")}


def listeners(command: str, config: Config) -> list[tuple[int, str]]:
    """(port, protocol) of every socket the sub-command opens."""
    collector = [
        config.collector.grpc_host_port,
        config.collector.http_host_port,
        config.collector.otlp_grpc_host_port,
        config.collector.otlp_http_host_port,
    ]
    if config.collector.zipkin_host_port is not None:
        collector.append(config.collector.zipkin_host_port)
    udp = [(config.agent.compact.host_port.port, "UDP"), (config.agent.binary.host_port.port, "UDP")]
    agent = [*udp, (config.agent.http_host_port.port, "TCP")]
    tcp = {
        "collector": collector,
        "query": [config.query.http_host_port],
        "agent": [],
        "all-in-one": [*collector, config.query.http_host_port],
    }[command]
    ports = [(hp.port, "TCP") for hp in [*tcp, config.admin.http_host_port]]
    return ports + (agent if command in ("agent", "all-in-one") else [])


def declared_ports(c: Container) -> set[tuple[int, str]]:
    return {(int(p["containerPort"]), p.get("protocol", "TCP")) for p in c.spec.get("ports", [])}


def selects(service: Doc, pod: Doc) -> bool:
    selector = service["spec"].get("selector") or {}
    labels = pod["metadata"].get("labels", {})
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- checks: each returns the problems it found -----------------------------------------------


def check_every_container(docs: list[Doc]) -> list[str]:
    """Resources, non-root, and (for pyjaeger's image) the released tag and args pyjaeger accepts."""
    problems = []
    for c in containers(docs):
        for kind in ("requests", "limits"):
            got = set(c.spec.get("resources", {}).get(kind, {}))
            if not {"cpu", "memory"} <= got:
                problems.append(f"{c.where}: resources.{kind} lacks cpu or memory")
        pod_sc = c.pod["spec"].get("securityContext", {})
        sc = {**pod_sc, **c.spec.get("securityContext", {})}
        if (
            sc.get("runAsNonRoot") is not True
            or not isinstance(sc.get("runAsUser"), int)
            or not sc["runAsUser"]
        ):
            problems.append(f"{c.where}: not runAsNonRoot with a numeric non-root runAsUser")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c.where}: allowPrivilegeEscalation is not false")
        if c.spec["image"].split(":")[0] == IMAGE and c.spec["image"] != f"{IMAGE}:{pyjaeger.__version__}":
            problems.append(f"{c.where}: image {c.spec['image']} is not this release's")
        if c.is_pyjaeger_command:
            try:
                parse_args(c)
            except AssertionError as e:
                problems.append(str(e))
                continue
            known = command_envs(c.command)
            # A variable may also exist only to be expanded into the args: $(ES_SERVER_URLS).
            expanded = set(re.findall(r"\$\((\w+)\)", " ".join(map(str, c.spec.get("args", [])))))
            for var in c.spec.get("env", []):
                if var["name"] not in known | expanded:
                    problems.append(f"{c.where}: env {var['name']} is read by no flag of {c.command}")
    return problems


def check_servers(docs: list[Doc]) -> list[str]:
    """Long-running pyjaeger components: valid config, ports declared, probes and scraping on admin."""
    problems = []
    for c in containers(docs):
        if not c.is_pyjaeger_command or c.command not in COMMANDS:
            continue
        try:
            config = config_of(c, docs)
        except (AssertionError, ConfigError, KeyError) as e:
            problems.append(f"{c.where}: pyjaeger would not start: {e}")
            continue
        admin = config.admin.http_host_port.port
        missing = set(listeners(c.command, config)) - declared_ports(c)
        if missing:
            problems.append(f"{c.where}: listens on {sorted(missing)} but does not declare them")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe not in c.spec:
                if probe != "startupProbe":
                    problems.append(f"{c.where}: no {probe}")
                continue
            get = c.spec[probe].get("httpGet", {})
            if get.get("path") != "/" or c.port_number(get.get("port", "")) != admin:
                problems.append(f"{c.where}: {probe} is not GET / on the admin port {admin}: {get}")
        notes = c.pod["metadata"].get("annotations", {})
        scrape = {k: notes.get(f"prometheus.io/{k}") for k in ("scrape", "port", "path")}
        if scrape != {"scrape": "true", "port": str(admin), "path": "/metrics"}:
            problems.append(f"{c.where}: scrape annotations {scrape} do not point at admin :{admin}/metrics")
    return problems


def check_services(docs: list[Doc]) -> list[str]:
    """Every port a Deployment's containers declare is exposed by a Service that selects its pods."""
    problems = []
    services = find(docs, "Service")
    for c in containers(docs):
        if c.workload["kind"] != "Deployment" or not c.is_pyjaeger_command:
            continue
        chosen = [s for s in services if selects(s, c.pod)]
        exposed = {
            (c.port_number(p.get("targetPort", p["port"])), p.get("protocol", "TCP"))
            for s in chosen
            for p in s["spec"]["ports"]
        }
        for port in sorted(declared_ports(c) - exposed):
            problems.append(f"{c.where}: port {port} is exposed by no Service selecting the pods")
    return problems


def check_sampling(docs: list[Doc]) -> list[str]:
    """Collectors read the strategies file from the mounted ConfigMap, and the file parses."""
    problems = []
    for c in containers(docs):
        if not c.is_pyjaeger_command or c.command not in ("collector", "all-in-one"):
            continue
        config = config_or_none(c, docs)
        if config is None:
            continue
        path = config.sampling.strategies_file
        if not path:
            problems.append(f"{c.where}: no SAMPLING_STRATEGIES_FILE")
            continue
        folder, _, key = path.rpartition("/")
        mounts = [
            m for m in c.spec.get("volumeMounts", []) if m["mountPath"] == folder and "subPath" not in m
        ]
        volumes = {v["name"]: v for v in c.pod["spec"].get("volumes", [])}
        maps = [volumes[m["name"]].get("configMap", {}).get("name") for m in mounts]
        data = [cm["data"] for name in maps for cm in find(docs, "ConfigMap", name)]
        if not data or key not in data[0]:
            problems.append(f"{c.where}: {path} is no key of a ConfigMap mounted at {folder}")
            continue
        try:
            parse_strategies(data[0][key])
        except StrategiesError as e:
            problems.append(f"{c.where}: {path}: {e}")
    return problems


def check_sqlite(docs: list[Doc]) -> list[str]:
    """sqlite writes into a mounted volume (the root filesystem is read-only, and a container's own
    layer would lose the traces on restart) that the non-root user may write to."""
    problems = []
    for c in containers(docs):
        config = config_or_none(c, docs) if c.is_pyjaeger_command and c.command in COMMANDS else None
        if config is None or config.storage.span_storage_type != "sqlite":
            continue
        folder = config.storage.sqlite.path.rpartition("/")[0]
        mounts = {m["mountPath"]: m["name"] for m in c.spec.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in c.pod["spec"].get("volumes", [])}
        volume = volumes.get(mounts.get(folder, ""), {})
        if not {"persistentVolumeClaim", "emptyDir"} & set(volume):
            problems.append(f"{c.where}: sqlite folder {folder} is not a mounted volume")
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if not find(docs, "PersistentVolumeClaim", claim):
                problems.append(f"{c.where}: PersistentVolumeClaim {claim} is not in the overlay")
            if not c.pod["spec"].get("securityContext", {}).get("fsGroup"):
                problems.append(f"{c.where}: no fsGroup, so the volume may not be writable")
    return problems


def check_elasticsearch(docs: list[Doc]) -> list[str]:
    """Elasticsearch components take ES_SERVER_URLS from a Secret of the overlay, not a literal."""
    problems = []
    for c in containers(docs):
        env = {v["name"]: v for v in c.spec.get("env", [])}
        uses_es = c.command == "es-index-cleaner" or env.get("SPAN_STORAGE_TYPE", {}).get("value") == (
            "elasticsearch"
        )
        if not c.is_pyjaeger_command or not uses_es:
            continue
        ref = env.get("ES_SERVER_URLS", {}).get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            problems.append(f"{c.where}: ES_SERVER_URLS does not come from a secretKeyRef")
            continue
        secrets = find(docs, "Secret", ref["name"])
        if not secrets or ref["key"] not in secret_data(secrets[0]):
            problems.append(f"{c.where}: Secret {ref['name']} with key {ref['key']} is not in the overlay")
    return problems


def check_agent_daemonset(docs: list[Doc]) -> list[str]:
    """Agents publish 6831/udp (and 6832/udp, 5778) on the node; apps find them via status.hostIP."""
    problems = []
    agents = [c for c in containers(docs) if c.workload["kind"] == "DaemonSet" and c.command == "agent"]
    if not agents:
        return ["no agent DaemonSet"]
    for c in agents:
        host_ports = {(p.get("hostPort"), p.get("protocol", "TCP")) for p in c.spec.get("ports", [])}
        for want in ((6831, "UDP"), (6832, "UDP"), (5778, "TCP")):
            if want not in host_ports:
                problems.append(f"{c.where}: no hostPort {want[0]}/{want[1]}")
    apps = [c for c in containers(docs) if not c.is_pyjaeger_command]
    if not apps:
        problems.append("no example app")
    for app in apps:
        env = {v["name"]: v for v in app.spec.get("env", [])}
        field = env.get("JAEGER_AGENT_HOST", {}).get("valueFrom", {}).get("fieldRef", {})
        if field.get("fieldPath") != "status.hostIP":
            problems.append(f"{app.where}: JAEGER_AGENT_HOST does not come from status.hostIP")
        port = env.get("JAEGER_AGENT_PORT", {}).get("value", "6831")
        if (int(port), "UDP") not in {
            (p.get("hostPort"), p.get("protocol")) for a in agents for p in a.spec["ports"]
        }:
            problems.append(f"{app.where}: JAEGER_AGENT_PORT {port} is no UDP hostPort of the agent")
    return problems


def check_agent_sidecar(docs: list[Doc]) -> list[str]:
    """The app sends to localhost, where an agent in its own pod listens on that UDP port."""
    problems = []
    apps = [c for c in containers(docs) if not c.is_pyjaeger_command]
    if not apps:
        return ["no example app"]
    for app in apps:
        env = {v["name"]: v.get("value") for v in app.spec.get("env", [])}
        if env.get("JAEGER_AGENT_HOST") not in ("localhost", "127.0.0.1"):
            problems.append(f"{app.where}: JAEGER_AGENT_HOST is not localhost")
        siblings = [c for c in containers([app.workload]) if c.is_pyjaeger_command and c.command == "agent"]
        configs = [config_or_none(c, docs) for c in siblings]
        ports = {p for config in configs if config for p in listeners("agent", config)}
        if (int(env.get("JAEGER_AGENT_PORT") or 6831), "UDP") not in ports:
            problems.append(f"{app.where}: no agent in the pod listens on JAEGER_AGENT_PORT/udp")
        for c in siblings:
            # A native sidecar keeps running; a plain init container would block the app forever.
            if c.init and c.spec.get("restartPolicy") != "Always":
                problems.append(f"{c.where}: init container without restartPolicy: Always")
    return problems


def check_reporters(agent_docs: list[Doc], collector_docs: list[Doc]) -> list[str]:
    """Each agent's REPORTER_GRPC_HOST_PORT names a Service of `collector_docs` exposing that port, which
    reaches a collector's gRPC listener."""
    problems = []
    for c in containers(agent_docs):
        if not c.is_pyjaeger_command or c.command != "agent":
            continue
        config = config_or_none(c, agent_docs)
        for target in config.reporter.grpc_host_ports if config else ():
            host, _, port = target.rpartition(":")
            name = host.split(".")[0]
            ok = False
            for service in find(collector_docs, "Service", name):
                for p in service["spec"]["ports"]:
                    if p["port"] != int(port):
                        continue
                    for backend in containers(collector_docs):
                        if not (selects(service, backend.pod) and backend.is_pyjaeger_command):
                            continue
                        served = config_or_none(backend, collector_docs)
                        grpc = served.collector.grpc_host_port.port if served else None
                        ok |= backend.port_number(p.get("targetPort", p["port"])) == grpc
            if not ok:
                problems.append(f"{c.where}: reporter target {target} is no collector gRPC Service port")
    return problems


CHECKS: dict[str, tuple[Callable[[list[Doc]], list[str]], ...]] = {
    "all-in-one": (check_every_container, check_servers, check_services, check_sampling, check_sqlite),
    "production": (check_every_container, check_servers, check_services, check_sampling, check_elasticsearch),
    "agent-daemonset": (check_every_container, check_servers, check_agent_daemonset),
    "agent-sidecar": (check_every_container, check_servers, check_agent_sidecar),
}


def all_problems(overlay: str, docs: list[Doc]) -> list[str]:
    return [p for check in CHECKS[overlay] for p in check(docs)]


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_schema_validation(
    tools: Tools, rendered: dict[str, str], overlay: str
) -> None:
    proc = validate(tools, rendered[overlay])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every object was checked against a schema (an unknown kind would only be warned about).
    objects = [d for d in yaml.safe_load_all(rendered[overlay]) if d]
    passed = re.findall(r"passed for resource (\S+)", proc.stdout)
    assert len(passed) == len(objects), proc.stdout


def test_validator_rejects_an_unknown_field(tools: Tools, docs: dict[str, list[Doc]]) -> None:
    """A realistic typo must fail validation, so the check above cannot pass vacuously."""
    broken = copy.deepcopy(docs["production"])
    container = next(c for c in containers(broken) if c.spec["name"] == "collector")
    container.spec["readinessprobe"] = container.spec.pop("readinessProbe")
    proc = validate(tools, yaml.safe_dump_all(broken))
    assert proc.returncode != 0, proc.stdout
    assert "readinessprobe" in proc.stdout + proc.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_wiring(docs: dict[str, list[Doc]], overlay: str) -> None:
    assert all_problems(overlay, docs[overlay]) == []


@pytest.mark.parametrize("agents", ["agent-daemonset", "agent-sidecar"])
@pytest.mark.parametrize("collectors", COLLECTOR_OVERLAYS)
def test_agents_report_to_a_collector_service(
    docs: dict[str, list[Doc]], agents: str, collectors: str
) -> None:
    assert check_reporters(docs[agents], docs[collectors]) == []


def test_overlays_hold_what_users_are_told_they_do(docs: dict[str, list[Doc]]) -> None:
    kinds = {
        overlay: sorted(f"{d['kind']}/{d['metadata']['name']}" for d in objs)
        for overlay, objs in docs.items()
    }
    assert {"Deployment/pyjaeger", "PersistentVolumeClaim/pyjaeger-data"} <= set(kinds["all-in-one"])
    assert {
        "Deployment/pyjaeger-collector",
        "Deployment/pyjaeger-query",
        "Service/pyjaeger-collector",
        "Service/pyjaeger-query",
        "Ingress/pyjaeger-query",
        "Secret/pyjaeger-elasticsearch",
        "CronJob/pyjaeger-es-index-cleaner",
    } <= set(kinds["production"])
    assert "DaemonSet/pyjaeger-agent" in kinds["agent-daemonset"]
    # The Ingress sends to the query Service's API port.
    ingress = find(docs["production"], "Ingress")[0]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    query = find(docs["production"], "Service", backend["name"])[0]
    assert backend["port"]["name"] in {p["name"] for p in query["spec"]["ports"] if p["port"] == 16686}


# --- the checks catch what they are for -------------------------------------------------------


def _container(docs: list[Doc], name: str) -> Doc:
    return next(c.spec for c in containers(docs) if c.spec["name"] == name)


def _env(docs: list[Doc], container: str, name: str) -> Doc:
    return next(v for v in _container(docs, container)["env"] if v["name"] == name)


def _replace(target: Doc, new: Doc) -> None:
    target.clear()
    target.update(new)


def _set_annotation(docs: list[Doc]) -> None:
    pod_template(find(docs, "Deployment", "pyjaeger-query")[0])["metadata"]["annotations"][
        "prometheus.io/port"
    ] = "16686"


MUTATIONS: dict[str, tuple[str, Callable[[list[Doc]], None], str]] = {
    "probe on the API port": (
        "production",
        lambda d: _container(d, "collector")["livenessProbe"]["httpGet"].update(port=14268),
        "livenessProbe is not GET / on the admin port 14269",
    ),
    "scrape annotation on the API port": ("production", _set_annotation, "scrape annotations"),
    "misspelt env": (
        "production",
        lambda d: _env(d, "collector", "ES_SERVER_URLS").update(name="ES_SERVER_URL"),
        "env ES_SERVER_URL is read by no flag",
    ),
    "literal ES URL": (
        "production",
        lambda d: _replace(
            _env(d, "query", "ES_SERVER_URLS"), {"name": "ES_SERVER_URLS", "value": "http://es:9200"}
        ),
        "ES_SERVER_URLS does not come from a secretKeyRef",
    ),
    "invalid storage type": (
        "all-in-one",
        lambda d: _env(d, "pyjaeger", "SPAN_STORAGE_TYPE").update(value="sqlite3"),
        "pyjaeger would not start",
    ),
    "unknown flag": (
        "agent-daemonset",
        lambda d: _container(d, "agent")["args"].append("--reporter.grpc.hostport=x:1"),
        "pyjaeger rejects args",
    ),
    "no memory limit": (
        "agent-sidecar",
        lambda d: _container(d, "pyjaeger-agent")["resources"]["limits"].pop("memory"),
        "resources.limits lacks cpu or memory",
    ),
    "agent hostPort over TCP": (
        "agent-daemonset",
        lambda d: _container(d, "agent")["ports"][0].update(protocol="TCP"),
        "no hostPort 6831/UDP",
    ),
    "app sends to the pod IP": (
        "agent-daemonset",
        lambda d: _env(d, "app", "JAEGER_AGENT_HOST")["valueFrom"]["fieldRef"].update(
            fieldPath="status.podIP"
        ),
        "JAEGER_AGENT_HOST does not come from status.hostIP",
    ),
    "sampling file not where the ConfigMap is mounted": (
        "production",
        lambda d: _env(d, "collector", "SAMPLING_STRATEGIES_FILE").update(
            value="/etc/pyjaeger/strategies.json"
        ),
        "is no key of a ConfigMap mounted",
    ),
    "query port missing from its Service": (
        "production",
        lambda d: find(d, "Service", "pyjaeger-query")[0]["spec"]["ports"].pop(0),
        "port (16686, 'TCP') is exposed by no Service",
    ),
    "sqlite outside the volume": (
        "all-in-one",
        lambda d: _env(d, "pyjaeger", "SQLITE_PATH").update(value="/var/lib/traces.db"),
        "sqlite folder /var/lib is not a mounted volume",
    ),
    "listener not declared": (
        "all-in-one",
        lambda d: _container(d, "pyjaeger")["ports"].pop(0),
        "does not declare them",
    ),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_wiring_checks_catch_broken_overlays(docs: dict[str, list[Doc]], mutation: str) -> None:
    overlay, mutate, expected = MUTATIONS[mutation]
    broken = copy.deepcopy(docs[overlay])
    mutate(broken)
    problems = all_problems(overlay, broken)
    assert any(expected in p for p in problems), problems


def test_reporter_check_catches_a_wrong_collector_port(docs: dict[str, list[Doc]]) -> None:
    broken = copy.deepcopy(docs["agent-daemonset"])
    _env(broken, "agent", "REPORTER_GRPC_HOST_PORT").update(value="pyjaeger-collector:14268")
    problems = check_reporters(broken, docs["production"])
    assert any("is no collector gRPC Service port" in p for p in problems), problems
