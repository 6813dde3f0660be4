"""`python -m pyjaeger.healthcheck`: the container image's HEALTHCHECK, exit 0 when healthy.

Slim images carry no curl, and the admin port differs per sub-command (all-in-one and collector
:14269, query :16687, agent :14271; `demo` serves /health on :8080), so one image needs a probe that
finds out what its container runs. It reads the sub-command and any `--admin.http.host-port` from
PID 1's command line (the image's exec-form ENTRYPOINT makes pyjaeger PID 1), else
`ADMIN_HTTP_HOST_PORT` from the environment (the container's env, which `docker exec` and health
checks share with PID 1), else the sub-command's default: the same precedence as the flags.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

__all__ = ["DEFAULT_ADMIN_PORTS", "probe_url", "main"]

ADMIN_FLAG = "--admin.http.host-port"
ADMIN_ENV = "ADMIN_HTTP_HOST_PORT"
DEMO_URL = "http://127.0.0.1:8080/health"
DEFAULT_ADMIN_PORTS: Mapping[str, int] = {
    "all-in-one": 14269,
    "collector": 14269,
    "query": 16687,
    "agent": 14271,
}
# A listener on every interface is reached through loopback from inside the container.
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
TIMEOUT_S = 3.0


def read_cmdline(path: str = "/proc/1/cmdline") -> list[str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _flag_value(argv: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def _url(host_port: str, default_port: int) -> str:
    host, sep, port = host_port.rpartition(":")
    if not sep:
        host, port = host_port, ""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    return f"http://{host}:{port or default_port}/"


def probe_url(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """The URL that answers 200 when the process started with `argv` is healthy."""
    # The first known sub-command wins: argv[0..1] are the interpreter and the pyjaeger script.
    command = next((a for a in argv if a in DEFAULT_ADMIN_PORTS or a == "demo"), "all-in-one")
    if command == "demo":
        return DEMO_URL
    default_port = DEFAULT_ADMIN_PORTS[command]
    configured = _flag_value(argv, ADMIN_FLAG)
    if configured is None:
        configured = environ.get(ADMIN_ENV)
    if not configured:
        return f"http://127.0.0.1:{default_port}/"
    return _url(configured, default_port)


def main(argv: Sequence[str] | None = None) -> int:
    url = probe_url(read_cmdline() if argv is None else argv, os.environ)
    # A proxy from the container's environment must not see a loopback probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError as e:
        print(f"unhealthy: {url}: {e}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
