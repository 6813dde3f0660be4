#!/usr/bin/env bash
# Install pyjaeger with its test dependencies into .venv and run every check CI runs:
# wheel contents + import + mypy (strict) on the built wheel, ruff, and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

echo "== wheel: contents, imports, mypy --strict"
.venv/bin/python scripts/check_wheel.py

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== elasticsearch distribution (fetched once with mvn into .cache/elasticsearch)"
bash scripts/elasticsearch.sh fetch

echo "== pytest"
set +e
.venv/bin/pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: the suite is broken or the selection is empty" >&2
  exit 1
fi
exit "$rc"
