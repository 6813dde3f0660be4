"""Interface definitions (Thrift IDL, protobuf) and the Python code generated from them.

Each wire format keeps its source definitions and its generated modules side by side here; the
generated modules are committed, and the scripts under `scripts/` regenerate them.
"""
