#!/usr/bin/env bash
# Regenerate pyjaeger/idl/api_v2/ and pyjaeger/idl/zipkin/ *_pb2.py and *_pb2.pyi from the .proto
# files beside them.
#
# Run from anywhere; protoc runs from the repo root with `-I .` so generated imports read
# `pyjaeger.idl.api_v2.model_pb2`. Idempotent: the same grpcio-tools gives the same bytes.
# The generated code refuses a protobuf runtime older than the protoc bundled with grpcio-tools
# (see the ValidateProtobufRuntimeVersion line in each *_pb2.py); keep pyproject's `protobuf>=`
# at or above it when regenerating with a newer grpcio-tools.
# No *_pb2_grpc.py: servers and clients use raw-bytes method handlers (pyjaeger/codecs/api_v2.py).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=pyjaeger/idl/api_v2

# Check before deleting anything: without grpc_tools the old files would be gone and none made.
"$PY" -c 'import grpc_tools.protoc' || { echo "needs grpcio-tools: $PY -m pip install grpcio-tools" >&2; exit 1; }
rm -f "$OUT"/*_pb2.py "$OUT"/*_pb2.pyi
"$PY" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. "$OUT"/*.proto
"$PY" -m grpc_tools.protoc --version

# Zipkin's proto3 span list (port 9411), generated the same way.
ZOUT=pyjaeger/idl/zipkin
rm -f "$ZOUT"/*_pb2.py "$ZOUT"/*_pb2.pyi
"$PY" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. "$ZOUT"/*.proto
