#!/usr/bin/env bash
# Regenerate pyjaeger/idl/api_v2/, pyjaeger/idl/api_v3/ and pyjaeger/idl/zipkin/ *_pb2.py and
# *_pb2.pyi from the .proto files beside them.
#
# Run from anywhere; protoc runs from the repo root with `-I .` so generated imports read
# `pyjaeger.idl.api_v2.model_pb2`. Idempotent: the same grpcio-tools gives the same bytes.
# The generated code refuses a protobuf runtime older than the protoc bundled with grpcio-tools
# (see the ValidateProtobufRuntimeVersion line in each *_pb2.py); keep pyproject's `protobuf>=`
# at or above it when regenerating with a newer grpcio-tools.
# No *_pb2_grpc.py: servers and clients use raw-bytes method handlers (pyjaeger/codecs/api_v2.py,
# pyjaeger/query/grpc_api.py).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=pyjaeger/idl/api_v2

# Check before deleting anything: without grpc_tools the old files would be gone and none made.
"$PY" -c 'import grpc_tools.protoc' || { echo "needs grpcio-tools: $PY -m pip install grpcio-tools" >&2; exit 1; }
"$PY" -c 'import opentelemetry.proto.trace.v1.trace_pb2' || { echo "needs opentelemetry-proto: $PY -m pip install -e ." >&2; exit 1; }
rm -f "$OUT"/*_pb2.py "$OUT"/*_pb2.pyi
"$PY" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. "$OUT"/*.proto
"$PY" -m grpc_tools.protoc --version

# api_v3 imports OTLP's trace.proto. The opentelemetry-proto wheel ships generated modules but
# no .proto files, so protoc gets that file (and what it imports) as the descriptors the wheel
# registers; the generated module then imports the wheel's trace_pb2, so our descriptor and the
# OTLP codecs share one TracesData. Only names cross over, so the output does not depend on which
# opentelemetry-proto version is installed.
OTLP_SET=$(mktemp)
trap 'rm -f "$OTLP_SET"' EXIT
"$PY" - "$OTLP_SET" <<'EOF'
import sys

from google.protobuf import descriptor_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

files = descriptor_pb2.FileDescriptorSet()
seen = set()


def add(fd):
    # Dependencies first, each once: protoc wants a file's imports before the file.
    if fd.name in seen:
        return
    seen.add(fd.name)
    for dep in fd.dependencies:
        add(dep)
    fd.CopyToProto(files.file.add())


add(trace_pb2.DESCRIPTOR)
with open(sys.argv[1], "wb") as f:
    f.write(files.SerializeToString())
EOF
V3=pyjaeger/idl/api_v3
rm -f "$V3"/*_pb2.py "$V3"/*_pb2.pyi
"$PY" -m grpc_tools.protoc -I . --descriptor_set_in="$OTLP_SET" --python_out=. --pyi_out=. "$V3"/*.proto

# Zipkin's proto3 span list (port 9411), generated the same way.
ZOUT=pyjaeger/idl/zipkin
rm -f "$ZOUT"/*_pb2.py "$ZOUT"/*_pb2.pyi
"$PY" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. "$ZOUT"/*.proto
