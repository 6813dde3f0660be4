"""docker/prometheus and docker/grafana only reference metrics and labels pyjaeger really exports.

Every PromQL expression in the alert rules and the dashboard is checked against the /metrics text
of an all-in-one, a collector, a query and an agent started in-process, after one span has gone
through each and each HTTP server has answered a request, so that labelled series exist.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pyjaeger.agent.config import AgentConfig, ReporterConfig, UDPServerConfig
from pyjaeger.cmd.app import App
from pyjaeger.cmd.config import Config
from pyjaeger.hostport import HostPort

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "docker" / "prometheus"
DASHBOARD = ROOT / "docker" / "grafana" / "pyjaeger-dashboard.json"
COMPACT = (
    ROOT / "tests" / "fixtures" / "captures" / "py-jaeger-client-4.8.0_udp6831_compact.bin"
).read_bytes()
LOOPBACK = HostPort("127.0.0.1", 0)

# Labels Prometheus attaches at scrape time, not part of the exposition.
TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Jaeger's own families, and OTel's HTTP server histogram (http_server_request_duration_seconds).
METRIC = re.compile(r"\b(?:jaeger|http_server)_[a-z_]+\b")
SELECTOR = re.compile(r"\b((?:jaeger|http_server)_[a-z_]+)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@dataclass
class Exposition:
    """Sample names of a /metrics text, each with its label names, and each family's type."""

    types: dict[str, str] = field(default_factory=dict)
    labels: dict[str, set[str]] = field(default_factory=dict)

    def add(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                self.types[name] = kind
            elif line and not line.startswith("#"):
                name, _, rest = line.partition("{")
                names = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', rest.partition("}")[0]))
                self.labels.setdefault(name.split()[0], set()).update(names)

    def family(self, name: str) -> str | None:
        """The exported family a PromQL metric name belongs to; None if pyjaeger has none."""
        if name in self.types:
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name.removesuffix(suffix)
            if base != name and self.types.get(base) == "histogram":
                return base
        return None

    def label_names(self, name: str) -> set[str]:
        return self.labels.get(name, set())


def alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((f"{p['title']} {t['refId']}", t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            out.append((f"${v['name']}", v["definition"]))
    return out


def references(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, labels used on it) for every metric an expression names: its matchers, and the
    `by (...)` of every aggregation whose argument holds it."""
    refs: dict[str, set[str]] = {m: set() for m in METRIC.findall(expr)}
    for m in SELECTOR.finditer(expr):
        refs[m.group(1)].update(MATCHER_LABEL.findall(m.group(2)))
    for m in BY.finditer(expr):
        by = {label.strip() for label in m.group(1).split(",") if label.strip()}
        # The aggregation's argument is the parenthesised expression after `by (...)`.
        depth, end = 0, m.end()
        for end in range(m.end(), len(expr)):
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            if depth == 0 and expr[end] == ")":
                break
        for metric in METRIC.findall(expr[m.end() : end + 1]):
            refs[metric].update(by)
    return sorted(refs.items())


def problems(exp: Exposition, where: str, expr: str) -> list[str]:
    out = []
    for metric, labels in references(expr):
        family = exp.family(metric)
        if family is None:
            out.append(f"{where}: {metric} is not exported")
            continue
        if metric not in exp.labels:
            out.append(f"{where}: {metric} has no series, so its labels cannot be checked")
            continue
        allowed = exp.label_names(metric) | TARGET_LABELS
        for label in sorted(labels - allowed):
            out.append(f"{where}: {metric} has no label {label!r} (has {sorted(exp.label_names(metric))})")
    return out


def agent_config(reporter: ReporterConfig) -> Config:
    return Config(
        agent=AgentConfig(UDPServerConfig(LOOPBACK), UDPServerConfig(LOOPBACK), LOOPBACK),
        reporter=reporter,
        admin=replace(Config().admin, http_host_port=LOOPBACK),
    )


def send_udp(app: App) -> None:
    port = app.server("agent UDP server (compact)").port  # type: ignore[attr-defined]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(COMPACT, ("127.0.0.1", port))


async def wait_for(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def saved(app: App) -> bool:
    return any(
        s.name == "jaeger_collector_spans_saved_by_svc_total" and s.value > 0
        for f in app.registry.collect()
        for s in f.samples
    )


@pytest.fixture
async def exported(make_app: Callable[..., Any], loopback_config: Callable[..., Config]) -> Exposition:
    """/metrics of all four commands after a span went through each of them."""
    aio = await make_app("all-in-one")
    send_udp(aio)
    await wait_for(lambda: saved(aio))
    collector = await make_app("collector")
    grpc_port = collector.server("collector gRPC server").port
    agent = await make_app("agent", agent_config(ReporterConfig(grpc_host_ports=(f"127.0.0.1:{grpc_port}",))))
    send_udp(agent)
    await wait_for(lambda: saved(collector))
    query = await make_app("query")
    exp = Exposition()
    async with httpx.AsyncClient() as c:
        qbase = f"http://127.0.0.1:{query.server('query HTTP server').port}"
        assert (await c.get(f"{qbase}/api/services")).status_code == 200
        assert (await c.get(f"{qbase}/api/traces", params={"service": "svc"})).status_code == 200
        agent_http = f"http://127.0.0.1:{agent.server('agent HTTP server').port}"
        assert (await c.get(f"{agent_http}/sampling", params={"service": "svc"})).status_code == 200
        # A full queue: the collector refuses the next request undecoded (a real 503 on the wire).
        assert collector.processor is not None
        collector.processor.capacity = 0
        http_port = collector.server("collector HTTP server").port
        r = await c.post(
            f"http://127.0.0.1:{http_port}/api/traces",
            content=b"",
            headers={"Content-Type": "application/x-thrift"},
        )
        assert r.status_code == 503
        collector.processor.count_rejected(1, "jaeger", "grpc")
        for app in (aio, collector, query, agent):
            exp.add((await c.get(f"http://127.0.0.1:{app.admin.port}/metrics")).text)
    return exp


def test_configs_parse() -> None:
    scrape = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    targets = {t for job in scrape["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {"collector:14269", "query:16687", "agent:14271", "all-in-one:14269"}
    for alert, _ in alert_expressions():
        assert re.fullmatch(r"Jaeger[A-Za-z]+", alert)
    for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    dash = json.loads(DASHBOARD.read_text())
    assert dash["schemaVersion"] >= 36
    assert any(v["type"] == "datasource" for v in dash["templating"]["list"])


def test_checker_catches_a_typo() -> None:
    exp = Exposition()
    exp.add(
        "# TYPE jaeger_collector_save_latency histogram\n"
        'jaeger_collector_save_latency_bucket{host="h",le="1.0"} 1.0\n'
        "# TYPE jaeger_collector_spans_dropped_total counter\n"
        'jaeger_collector_spans_dropped_total{host="h"} 0.0\n'
    )
    good = 'sum by (host, le) (rate(jaeger_collector_save_latency_bucket{job="x"}[1m]))'
    assert problems(exp, "good", good) == []
    assert problems(exp, "typo", "rate(jaeger_collector_span_dropped_total[1m])")
    assert problems(exp, "label", 'sum by (svc) (rate(jaeger_collector_spans_dropped_total{host="h"}[1m]))')
    assert problems(exp, "matcher", 'rate(jaeger_collector_spans_dropped_total{format="x"}[1m])')
    assert problems(exp, "not a histogram", "jaeger_collector_spans_dropped_bucket")
    exp.add(
        "# TYPE http_server_request_duration_seconds histogram\n"
        'http_server_request_duration_seconds_count{component="query",http_route="/api/services"} 1.0\n'
    )
    assert (
        problems(
            exp,
            "otel",
            'sum by (http_route) (rate(http_server_request_duration_seconds_count{component="query"}[1m]))',
        )
        == []
    )
    assert problems(
        exp, "otel label", "sum by (http_status_code) (rate(http_server_request_duration_seconds_count[1m]))"
    )
    assert problems(exp, "otel typo", "rate(http_server_request_duration_count[1m])")


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
async def test_every_referenced_metric_and_label_is_exported(exported: Exposition, source: str) -> None:
    exprs = alert_expressions() if source == "alerts" else dashboard_expressions()
    assert exprs
    found = [p for where, expr in exprs for p in problems(exported, where, expr)]
    assert found == []
