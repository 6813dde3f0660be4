"""`pyjaeger demo` flags and entry point.

Flags default to the variables an OpenTelemetry or Jaeger client would read
(OTEL_EXPORTER_OTLP_ENDPOINT, JAEGER_AGENT_HOST, JAEGER_AGENT_PORT), so the demo points where an
instrumented application in the same container or compose stack would.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from pyjaeger.cmd.demo.options import DEFAULT_PORTS, DemoOptions, ServicePorts

__all__ = ["DEMO", "add_demo_parser", "run_demo", "resolve_options", "parse_agent_host_port"]

DEMO = "demo"
DEMO_HELP = (
    "Runs four small services (frontend, customer, driver, route) that call each other over HTTP and"
    " report their spans over OTLP/HTTP and, for the driver, Jaeger thrift over UDP to the agent."
    " Needs pyjaeger[demo]."
)
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
DEFAULT_AGENT_HOST = "localhost"
DEFAULT_AGENT_PORT = 6831
MISSING_SDK_EXIT = 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a number above 0")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("must be at most 65535")
    return value


def add_demo_parser(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(DEMO, help=DEMO_HELP, description=DEMO_HELP)
    p.add_argument(
        "--otlp-endpoint",
        default=None,
        metavar="URL",
        help="OTLP/HTTP base URL; spans are posted to URL/v1/traces"
        f" (env OTEL_EXPORTER_OTLP_ENDPOINT, default {DEFAULT_OTLP_ENDPOINT})",
    )
    p.add_argument(
        "--agent-host-port",
        default=None,
        metavar="HOST:PORT",
        help="the agent's compact thrift UDP port the driver reports to; '' sends the driver's spans"
        f" over OTLP too (env JAEGER_AGENT_HOST, default {DEFAULT_AGENT_HOST}, and JAEGER_AGENT_PORT,"
        f" default {DEFAULT_AGENT_PORT})",
    )
    p.add_argument(
        "--rate", type=_positive_float, default=1.0, metavar="PER_S", help="frontend requests per second"
    )
    p.add_argument(
        "--count",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="stop after N frontend requests, flush and exit (default 0: until SIGTERM/SIGINT)",
    )
    p.add_argument(
        "--listen-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the services' HTTP servers bind (0.0.0.0 to reach the frontend from outside)",
    )
    for name in ("frontend", "customer", "driver", "route"):
        p.add_argument(
            f"--{name}-port",
            type=_port,
            default=getattr(DEFAULT_PORTS, name),
            metavar="PORT",
            help=f"{name} service's HTTP port (0: any free port)"
            + ("; GET /health answers 200 once all services are up" if name == "frontend" else ""),
        )


def parse_agent_host_port(text: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (localhost); ValueError otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or DEFAULT_AGENT_HOST, int(port_text)


def resolve_options(args: argparse.Namespace, env: Mapping[str, str]) -> DemoOptions:
    """Flags over environment over defaults; ValueError for an unusable value."""
    endpoint = args.otlp_endpoint
    if endpoint is None:
        endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_OTLP_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"--otlp-endpoint {endpoint!r}: expected an http:// or https:// URL")
    agent_text = args.agent_host_port
    if agent_text is None:
        host = env.get("JAEGER_AGENT_HOST") or DEFAULT_AGENT_HOST
        port = env.get("JAEGER_AGENT_PORT") or str(DEFAULT_AGENT_PORT)
        agent_text = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    agent = parse_agent_host_port(agent_text) if agent_text else None
    ports = ServicePorts(args.frontend_port, args.customer_port, args.driver_port, args.route_port)
    return DemoOptions(endpoint, agent, args.rate, args.count, args.listen_host, ports)


def run_demo(parser: argparse.ArgumentParser, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    try:
        options = resolve_options(args, env)
    except ValueError as e:
        parser.error(str(e))
    try:
        from pyjaeger.cmd.demo import runner
    except ImportError as e:
        # Only a missing SDK is the user's to fix with the extra; anything else is a bug to see.
        if not (e.name or "").startswith("opentelemetry"):
            raise
        print(
            f"pyjaeger demo needs the OpenTelemetry SDK ({e.name} is missing): pip install 'pyjaeger[demo]'",
            file=sys.stderr,
        )
        return MISSING_SDK_EXIT
    return runner.run(options)
