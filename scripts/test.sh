#!/usr/bin/env bash
# Install pyjaeger with its test dependencies into .venv and run every check CI runs:
# wheel contents + import + mypy (strict) on the built wheel, ruff, the whole pytest suite, then
# the container image and compose stacks (scripts/containers.sh).
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

# The image and both compose stacks, started for real (root, Debian's docker.io). A pytest
# selection given on the command line is a developer's quick run: it leaves the stacks out.
if [ "$#" -eq 0 ]; then
  echo "== containers: image, docker/docker-compose.yml, docker/docker-compose.elasticsearch.yml"
  set +e
  bash scripts/containers.sh
  crc=$?
  set -e
  if [ "$crc" -ne 0 ]; then
    echo "container test failed (exit $crc)" >&2
    [ "$rc" -eq 0 ] && rc=$crc
  fi
fi
exit "$rc"
