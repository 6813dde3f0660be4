"""Build the wheel, import every module from it, and type-check exactly what it ships.

An editable install finds sub-packages that the wheel's package list forgets, and mypy run from
the repo root cannot follow the `package-dir` mapping (agent/ → pyjaeger.agent). Both are
checked here against an unpacked copy of the wheel.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

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
    return 0


def _source_files() -> set[str]:
    """Every file the wheel must ship (code and data: templates, IDL, stubs), by installed path."""
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pyjaeger").rglob("*") if p.is_file()}
    for comp in ("agent", "collector", "query", "storage"):
        found = (ROOT / comp).rglob("*")
        files |= {"pyjaeger/" + p.relative_to(ROOT).as_posix() for p in found if p.is_file()}
    return {f for f in files if "__pycache__" not in f and not f.endswith((".pyc", ".sh"))}


if __name__ == "__main__":
    sys.exit(main())
