"""`python -m pyjaeger.healthcheck`: the container image's HEALTHCHECK, exit 0 when healthy.

Slim images carry no curl, and the admin port differs per sub-command (all-in-one and collector
:14269, query :16687, agent :14271; `demo` serves /health on :8080), so one image needs a probe that
finds out what its container runs. It reads PID 1's command line (the image's exec-form ENTRYPOINT
makes pyjaeger PID 1) and resolves the admin address from it and the environment with pyjaeger's
own flag table (flag, then `ADMIN_HTTP_HOST_PORT`, then the sub-command's default), so the probe
cannot drift from what the process really listens on.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from pyjaeger.cmd.flags import COMMANDS, add_flags, flag_value
from pyjaeger.hostport import HostPort

__all__ = ["probe_url", "main"]

ADMIN_FLAG = "admin.http.host-port"
DEMO = "demo"
DEMO_URL = "http://127.0.0.1:8080/health"
# A listener on every interface is reached through loopback from inside the container.
_WILDCARD_HOSTS = ("0.0.0.0", "::")
TIMEOUT_S = 3.0


def read_cmdline(path: str = "/proc/1/cmdline") -> list[str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def probe_url(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """The URL that answers 200 when the process started with `argv` is healthy."""
    # The first known sub-command wins: argv[0..1] are the interpreter and the pyjaeger script.
    # None: the image's default CMD, all-in-one.
    at = next((i for i, a in enumerate(argv) if a in COMMANDS or a == DEMO), None)
    command = "all-in-one" if at is None else argv[at]
    if command == DEMO:
        return DEMO_URL
    parser = argparse.ArgumentParser(add_help=False)
    add_flags(parser, command)
    args, _ = parser.parse_known_args([] if at is None else argv[at + 1 :])
    admin: HostPort = flag_value(command, ADMIN_FLAG, args, environ)
    if admin.host in _WILDCARD_HOSTS:
        admin = HostPort("127.0.0.1", admin.port)
    return f"http://{admin}/"


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
