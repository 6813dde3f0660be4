#!/usr/bin/env bash
# Build the tools tests/deploy/test_kubernetes.py renders and validates docker/kubernetes/ with:
#   kustomize            Go module sigs.k8s.io/kustomize/kustomize/v5, built with `go install`
#   kubernetes-validate  from PyPI, pinned in tests/deploy/requirements-kubernetes.txt
# Idempotent and cached under .cache/ (git-ignored): a second run only checks what is there.
# Prints two lines, `kustomize=<path>` and `kubernetes-validate=<path>`, for callers to read.
#
#   bash scripts/kubernetes-tools.sh
#
# Needs `go` (the Go module proxy) and python3 >= 3.10 (PyPI). PYTHON picks the interpreter that
# builds the venv (default: the repo's .venv, else python3); PYJAEGER_KUBERNETES_TOOLS moves the
# kustomize cache.
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5
KUSTOMIZE_VERSION=v5.7.1
TOOLS=${PYJAEGER_KUBERNETES_TOOLS:-$PWD/.cache/kubernetes-tools}
# The version in the folder name: changing the pin above builds anew beside the old one.
KUSTOMIZE_BIN=$TOOLS/kustomize-$KUSTOMIZE_VERSION/bin
KUSTOMIZE=$KUSTOMIZE_BIN/kustomize

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if [ ! -x "$KUSTOMIZE" ] || ! "$KUSTOMIZE" version 2>/dev/null | grep -qx "$KUSTOMIZE_VERSION"; then
  command -v go >/dev/null || { echo "kubernetes-tools: go is not on PATH" >&2; exit 1; }
  mkdir -p "$TOOLS"
  # Build into a scratch folder and move the binary in last, so an interrupted build never
  # leaves a half-written kustomize that a later run would take as done.
  scratch=$(mktemp -d "$TOOLS/build.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  GOBIN=$scratch go install "$KUSTOMIZE_MODULE@$KUSTOMIZE_VERSION"
  mkdir -p "$KUSTOMIZE_BIN"
  mv "$scratch/kustomize" "$KUSTOMIZE"
fi

# tests/clients/venvs.py builds the venv once per requirements hash, under a lock, and prints
# "<python> (<seconds>s)"; kubernetes-validate's entry point sits beside that interpreter.
venv_python=$("$PYTHON" tests/clients/venvs.py kubernetes tests/deploy/requirements-kubernetes.txt | cut -d' ' -f1)
VALIDATE=$(dirname "$venv_python")/kubernetes-validate
"$VALIDATE" --version >/dev/null

echo "kustomize=$KUSTOMIZE"
echo "kubernetes-validate=$VALIDATE"
