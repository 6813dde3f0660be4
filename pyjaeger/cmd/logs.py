"""Process logging: Jaeger's level names, and a text or JSON (one object per line) format on stderr.

The JSON format follows Jaeger's zap output closely enough for log shippers: `ts` (RFC 3339 UTC,
milliseconds), `level` (debug, info, warn, error, fatal), `logger`, `msg`, `error` and
`stacktrace` when an exception is attached, and every field passed through `extra={...}`.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

__all__ = ["LEVELS", "JsonFormatter", "TextFormatter", "setup_logging"]

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}

_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}

# Attributes every LogRecord has; anything else on a record came from `extra={...}`.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


def _level(levelno: int) -> str:
    if levelno in _LEVEL_NAMES:
        return _LEVEL_NAMES[levelno]
    return next((n for lv, n in sorted(_LEVEL_NAMES.items(), reverse=True) if levelno >= lv), "debug")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        doc: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": _level(record.levelno),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in _extras(record).items():
            doc.setdefault(k, v)
        if record.exc_info and record.exc_info[1] is not None:
            doc["error"] = str(record.exc_info[1]) or type(record.exc_info[1]).__name__
            doc["stacktrace"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["stacktrace"] = record.exc_text
        if record.stack_info:
            doc["stacktrace"] = doc.get("stacktrace", "") + self.formatStack(record.stack_info)
        return orjson.dumps(doc, default=str).decode()


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "[" + ", ".join(f"{k}={v}" for k, v in value.items()) + "]"
    return str(value)


class TextFormatter(logging.Formatter):
    """`2026-01-02 10:00:00,123 INFO pyjaeger.cmd.app: message key=value ...`: `extra` fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = _extras(record)
        if extras:
            line += "".join(f" {k}={_text(v)}" for k, v in extras.items())
        return line


def setup_logging(level: str, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger for the process (`level` and `fmt` as validated by Config).

    Like `logging.basicConfig`, it leaves a root logger that already has handlers alone (pytest's
    capture, an embedding application).
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr if stream is None else stream)
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        root.addHandler(handler)
        root.setLevel(LEVELS[level])
    if level != "debug":
        # uvicorn logs every server start and stop at info; ours already say what listens where.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        # elastic_transport logs every request at info and every failed one at warning; the
        # store and the span processor say once, with the cause, when Elasticsearch is away.
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
