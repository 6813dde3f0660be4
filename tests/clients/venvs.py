"""Virtual environments for real tracing client libraries, built once and cached.

Client libraries never go into the server's environment: several pin protobuf versions that
clash with the server's opentelemetry-proto. Each client set is a pinned requirements file;
`client_python` builds a venv for it on first use and returns that venv's interpreter, which
the end-to-end tests run client scripts with.

Cache layout: ``$PYJAEGER_CLIENT_VENVS/<name>-<key>`` if that variable is set, else
``<repo>/.cache/client-venvs/<name>-<key>`` (``.cache/`` is git-ignored). The key hashes the
requirements file and the interpreter's version, so editing a pin or moving to another Python
builds a fresh venv beside the old one.

Concurrency and crashes: the build runs under an exclusive ``fcntl`` lock on ``<dir>.lock``
(parallel pytest processes wait for one builder), and the marker file is written only after
``pip install`` succeeded, so a half-built venv is deleted and rebuilt.

Node clients work the same way: ``node_client_dir`` copies a folder's ``package.json`` and
``package-lock.json`` to ``$PYJAEGER_CLIENT_NODE/<name>-<key>`` (else
``<repo>/.cache/client-node/<name>-<key>``), runs ``npm ci`` there once under the same kind of
lock and marker, and returns that folder; scripts stay in the repo and find the packages through
``NODE_PATH`` (``node_env``). The key hashes both files and node's major version.

Also a script, for warming the cache ahead of a test run (e.g. in CI)::

    python tests/clients/venvs.py otel tests/clients/requirements-otel.txt
    python tests/clients/venvs.py node tests/clients/node
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "cache_root",
    "client_env",
    "client_python",
    "node_cache_root",
    "node_client_dir",
    "node_dir",
    "node_env",
    "venv_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "PYJAEGER_CLIENT_VENVS"
NODE_CACHE_ENV = "PYJAEGER_CLIENT_NODE"
MARKER = ".pyjaeger-ready"
PIP_TIMEOUT_S = 900
NODE_LOCK_FILES = ("package.json", "package-lock.json")

# Variables that would change what a client script does behind its arguments' back: a proxy
# would capture loopback traffic (grpc and requests both honour them), OTEL_* would add
# resource attributes or override exporter settings, PYTHON* would leak the server's packages.
_CLIENT_ENV_DROP_PREFIXES = ("OTEL_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy"}


def cache_root() -> Path:
    """The folder that holds every client venv."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else REPO_ROOT / ".cache" / "client-venvs"


def venv_dir(name: str, requirements: Path) -> Path:
    """Where the venv for this client set lives; the name changes with the pins."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}".encode())
    return cache_root() / f"{name}-{digest.hexdigest()[:16]}"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _build_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PYTHONHOME"))}
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(
        cmd,
        env=_build_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}")


def _build(venv: Path, requirements: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # left by a build that died before writing the marker
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(venv)], "creating venv")
    python = str(_venv_python(venv))
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "install", "--quiet", "-r", str(requirements)], f"pip install -r {requirements}")
    _run([*pip, "check"], "pip check")
    (venv / MARKER).write_text(requirements.read_text())


def client_python(name: str, requirements: Path) -> Path:
    """Return the interpreter of the venv for ``requirements``, building it if needed.

    Safe to call from several processes at once: one builds, the others wait on the lock and
    then reuse its result. Raises ``RuntimeError`` with pip's output when the install fails.
    """
    requirements = requirements.resolve()
    venv = venv_dir(name, requirements)
    python = _venv_python(venv)
    if (venv / MARKER).is_file() and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.with_name(venv.name + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not ((venv / MARKER).is_file() and python.exists()):
                _build(venv, requirements)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python


def client_env() -> dict[str, str]:
    """Environment for running a client script: this one minus proxies, OTEL_* and PYTHON*."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLIENT_ENV_DROP_PREFIXES) and k.lower() not in _PROXY_VARS
    }


def node_cache_root() -> Path:
    """The folder that holds every installed Node client."""
    configured = os.environ.get(NODE_CACHE_ENV)
    return Path(configured) if configured else REPO_ROOT / ".cache" / "client-node"


def _node_major() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return version.strip().lstrip("v").split(".")[0]


def node_dir(name: str, source: Path) -> Path:
    """Where the ``npm ci`` of ``source`` lives; the name changes with the lock and node's major."""
    digest = hashlib.sha256()
    for file in NODE_LOCK_FILES:
        digest.update((source / file).read_bytes())
    digest.update(f"node-{_node_major()}".encode())
    return node_cache_root() / f"{name}-{digest.hexdigest()[:16]}"


def _build_node(target: Path, source: Path) -> None:
    if target.exists():
        shutil.rmtree(target)  # left by an install that died before writing the marker
    target.mkdir(parents=True)
    for file in NODE_LOCK_FILES:
        shutil.copyfile(source / file, target / file)
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH")
    # `npm ci` installs exactly the lock (and fails if package.json disagrees with it);
    # --ignore-scripts: nothing in the locked tree needs an install script.
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    _run(cmd, f"npm ci in {target}", cwd=target)
    (target / MARKER).write_text((source / "package-lock.json").read_text())


def node_client_dir(source: Path, name: str = "node") -> Path:
    """Return a folder holding ``node_modules`` installed from ``source``'s lock, installing once.

    Same locking and marker rules as ``client_python``. Raises ``RuntimeError`` with npm's output
    when the install fails, or when node/npm are missing.
    """
    source = source.resolve()
    target = node_dir(name, source)
    if (target / MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(target.name + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (target / MARKER).is_file():
                _build_node(target, source)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def node_env(installed: Path) -> dict[str, str]:
    """``client_env()`` plus ``NODE_PATH`` pointing at an installed client's node_modules."""
    env = {k: v for k, v in client_env().items() if not k.startswith("NODE_")}
    env["NODE_PATH"] = str(installed / "node_modules")
    return env


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: venvs.py NAME REQUIREMENTS | venvs.py node PACKAGE_DIR", file=sys.stderr)
        return 2
    started = time.monotonic()
    if argv[0] == "node":
        result = node_client_dir(Path(argv[1]))
    else:
        result = client_python(argv[0], Path(argv[1]))
    print(f"{result} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
