#!/usr/bin/env bash
# A real single-node Elasticsearch on 127.0.0.1 for tests and local runs (tests/elasticsearch/launcher.py).
#
#   bash scripts/elasticsearch.sh fetch                    # download + unzip once into .cache/elasticsearch
#   bash scripts/elasticsearch.sh start [--port N] [--data-dir DIR]   # prints the URL; stays up
#   bash scripts/elasticsearch.sh status | stop
#
# Needs mvn and a JDK 17+ (both on the machine image); as root it runs the node as the system user
# pyjaeger-es, created on first use. The pytest fixture `elasticsearch` starts its own node: this is
# for warming the cache in CI and for poking at a node by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" tests/elasticsearch/launcher.py "$@"
