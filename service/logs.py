"""Logging, configured once by an entry point: text, or JSON lines with stable keys."""

from __future__ import annotations

import logging

from pythonjsonlogger.orjson import OrjsonFormatter

STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, `extra` keys."""
    return OrjsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        timestamp="time",
    )


class TextFormatter(logging.Formatter):
    """Human-readable lines that still show the `extra` keys."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in STANDARD}
        return line + "".join(f" {k}={v}" for k, v in extras.items())


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Install one handler on the root logger."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
