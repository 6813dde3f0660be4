"""pyjaeger: a Jaeger-compatible tracing backend in Python.

The core package holds the canonical span model, configuration, the CLI and metrics; the
components live in `pyjaeger.agent`, `pyjaeger.collector`, `pyjaeger.query` and
`pyjaeger.storage`.
"""

__version__ = "0.1.0"
