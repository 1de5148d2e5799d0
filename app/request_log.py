"""Request ids: taken from ``X-Request-ID`` or made up, bound to the log context of the
request (every line it logs, and every task it causes), one access line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from services.observability import context as log_context
from services.observability.logs import configure_logging

log = logging.getLogger("bookstore.access")
PLAIN_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(incoming: str) -> str:
    """The request's id: the caller's ``X-Request-ID`` when it is a plain token (it is echoed
    into every log line, so nobody can forge log lines), else a new one."""
    return incoming if PLAIN_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def log_access(method: str, path: str, status: int, elapsed_ms: float) -> None:
    """The access line of one answered request (also written by app.page_front)."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        "%s %s %s %.1fms",
        method,
        path,
        status,
        elapsed_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed_ms, 1),
        },
    )


def register_request_log(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config.get("LOG_FORMAT"))

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        # Echoed into every log line: only a plain token, so nobody can forge log lines.
        g.request_id = request_id_from(incoming)
        g.request_started = time.perf_counter()
        log_context.clear()
        log_context.bind(request_id=g.request_id)

    @app.after_request
    def log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        if request.endpoint != "metrics":
            log_access(request.method, request.path, response.status_code, elapsed_ms)
        return response

    @app.teardown_request
    def forget_context(_exc=None) -> None:
        log_context.clear()
