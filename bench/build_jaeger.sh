#!/usr/bin/env bash
# The real Jaeger to benchmark against: v2.13.0 (Go module tag v1.76.0), built once from the Go
# module proxy into .cache/jaeger-<tag>/ (about 4 minutes on 2 cores), with the all-in-one
# configuration the comparisons use (Jaeger's default, memory storage, max_traces 1,000,000).
# Prints the binary's path and then the configuration's:
#   read -r JAEGER JAEGER_CONFIG < <(bash bench/build_jaeger.sh | tr '\n' ' ')
set -euo pipefail
TAG=${JAEGER_MODULE_TAG:-v1.76.0}
cd "$(dirname "$0")/.."
out="$PWD/.cache/jaeger-$TAG"
if [ ! -x "$out/jaeger" ]; then
  mkdir -p "$out/module"
  (
    cd "$out/module"
    [ -f go.mod ] || go mod init jaeger-reference >/dev/null 2>&1
    go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$TAG" >&2
    go build -o "$out/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger >&2
  )
fi
config="$out/all-in-one-1m.yaml"
if [ ! -f "$config" ]; then
  moddir=$(cd "$out/module" && go list -m -f '{{.Dir}}' github.com/jaegertracing/jaeger)
  sed 's/max_traces: [0-9]*/max_traces: 1000000/' "$moddir/cmd/jaeger/internal/all-in-one.yaml" > "$config"
  grep -q 'max_traces: 1000000' "$config" || { echo "no max_traces in $moddir's all-in-one.yaml" >&2; exit 1; }
fi
echo "$out/jaeger"
echo "$config"
