"""Build the wheel, import every module from it, and type-check exactly what it ships.

An editable install finds sub-packages that the wheel's package list forgets, and mypy run from
the repo root cannot follow the `package-dir` mapping (agent/ → pyjaeger.agent). Both are
checked here against an unpacked copy of the wheel.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from pyjaeger.cmd.flags import listener_flags

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        dist, tree = Path(tmp) / "dist", Path(tmp) / "tree"
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (wheel,) = dist.glob("*.whl")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tree)
        shipped = sorted(tree.glob("pyjaeger/**/*.py"))
        in_wheel = {p.relative_to(tree).as_posix() for p in tree.glob("pyjaeger/**/*") if p.is_file()}
        missing = sorted(_source_files() - in_wheel)
        if missing:
            print("wheel lacks:", *missing, sep="\n  ")
            return 1
        modules = [
            ".".join(p.relative_to(tree).with_suffix("").parts).removesuffix(".__init__")
            for p in shipped
            if p.name != "__main__.py"
        ]
        probe = (
            "import importlib, sys\n"
            f"root = {str(tree)!r}\n"
            "sys.path.insert(0, root)\n"
            "for m in sys.argv[1:]:\n"
            "    mod = importlib.import_module(m)\n"
            "    assert mod.__file__.startswith(root), (m, mod.__file__)\n"
            "print(len(sys.argv) - 1, 'modules imported from the wheel')\n"
        )
        subprocess.run([sys.executable, "-I", "-c", probe, *modules], check=True, cwd=tree)
        out = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "pyjaeger"],
            cwd=tree,
            capture_output=True,
            text=True,
        )
        print(out.stdout, end="")
        print(out.stderr, end="", file=sys.stderr)
        if out.returncode:
            return out.returncode
        m = re.search(r"in (\d+) source files", out.stdout)
        # mypy may count a little more (a data folder read as a namespace package), never less.
        if not m or int(m.group(1)) < len(shipped):
            print(f"mypy checked {m.group(1) if m else '?'} files, the wheel ships {len(shipped)}")
            return 1
        return _start_from_checkout(wheel, Path(tmp))
    return 0


def _start_from_checkout(wheel: Path, tmp: Path) -> int:
    """The README's first command: the wheel installed in a fresh venv, run from the checkout,
    whose `pyjaeger/` lacks the component packages (an editable install hides this: its finder
    maps them). The all-in-one with ingest worker processes must start: every process imports
    the installed package, none the checkout's."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)], check=True
    )
    admin = _free_port()
    flags = [
        f"--{flag}=127.0.0.1:{admin if flag == 'admin.http.host-port' else 0}"
        for flag in listener_flags("all-in-one")
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    proc = subprocess.Popen(
        [str(venv / "bin" / "pyjaeger"), "all-in-one", "--collector.ingest-processes=2", *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/", timeout=1) as r:
                    if r.status == 200:
                        print("the wheel's all-in-one starts in the checkout")
                        return 0
            except OSError:
                time.sleep(0.2)
        print("the wheel's all-in-one did not start in the checkout")
        return 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode not in (0, -signal.SIGTERM):
            print(err[-3000:], file=sys.stderr)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _source_files() -> set[str]:
    """Every file the wheel must ship (code and data: templates, IDL, stubs), by installed path."""
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pyjaeger").rglob("*") if p.is_file()}
    for comp in ("agent", "collector", "query", "storage"):
        found = (ROOT / comp).rglob("*")
        files |= {"pyjaeger/" + p.relative_to(ROOT).as_posix() for p in found if p.is_file()}
    return {f for f in files if "__pycache__" not in f and not f.endswith((".pyc", ".sh"))}


if __name__ == "__main__":
    sys.exit(main())
