"""Structured logs: one JSON object per line, with the correlation id, never a patient id.

python-json-logger rather than structlog: every module already logs through the standard
``logging`` API (as do uvicorn, aiokafka and the eventsourcing library), and a formatter on
the root handler turns all of it into JSON without touching a single call site.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from routing.operations import correlation

# Personnummer / samordningsnummer shapes, and the pseudonyms the API accepts as `patient`.
_PATIENT = re.compile(r"\b(?:19|20)?\d{6}[-+]?\d{4}\b|\bpsn_[0-9A-Za-z]+\b")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _PATIENT.sub(REDACTED, text)


class ContextFilter(logging.Filter):
    """Adds ``correlation_id`` to every record and blanks patient-shaped strings: a message
    that quotes a body by mistake still never writes a patient identifier to the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = correlation.current_id()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}{correlation_id}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def configure(log_format: str = "json", level: str = "INFO") -> None:
    """One handler on the root logger (stderr) for our code and the libraries alike."""
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
    else:
        handler = _readable_handler()
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _readable_handler() -> logging.Handler:
    """rich's logging handler (rich already draws the CLI's progress bars): time, level,
    logger and message in columns, coloured on a terminal."""
    # lazy: rich only for the interactive console format
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(
        console=Console(stderr=True),
        show_path=False,
        rich_tracebacks=False,
        markup=False,
        log_time_format="%H:%M:%S",
    )
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return handler


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: structured fields beside the message."""
    return values
