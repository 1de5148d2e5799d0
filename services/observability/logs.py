"""One log setup for every process (API, worker, beat, CLI): JSON lines when
``LOG_FORMAT=json``, ``key=value`` text otherwise, each line with the bound context
(``request_id`` always, user/order/task fields when known) and the record's extras."""

from __future__ import annotations

import logging
import os

from pythonjsonlogger.json import JsonFormatter

from services.observability import context

# Attributes every LogRecord has: anything else on a record is an extra worth showing.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (``request_id`` is ``-`` when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = context.current()
        for name in context.FIELDS:
            value = fields.get(name)
            if value is not None and getattr(record, name, None) is None:
                setattr(record, name, value)
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return True


class KeyValueFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` for people at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        ordered = [k for k in context.FIELDS if k in extras] + sorted(
            k for k in extras if k not in context.FIELDS
        )
        pairs = " ".join(f"{k}={_text(extras[k])}" for k in ordered)
        if not pairs:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{head} {pairs}{newline}{rest}"


def _text(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(level: str = "INFO", log_format: str | None = None) -> None:
    """Install the one handler on the root logger (again: replaces the previous one)."""
    log_format = (log_format or os.environ.get("LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "bookstore", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.bookstore = True
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
