"""The log formats: text lines carry the bound context as key=value, JSON lines as fields;
the context is per task/request and the publish signal carries the request id on."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

from config.settings import ROOT
from services.observability import context
from services.observability.logs import ContextFilter, KeyValueFormatter, json_formatter


def _emit(formatter, **extra) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("payment declined (%s)", "card_declined", extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().strip()


def test_a_text_line_shows_the_bound_context_then_the_extras_as_key_value():
    with context.bound(request_id="r-1", order_id="o-9", attempt=2):
        line = _emit(KeyValueFormatter(), event="payment_declined", reason="card declined")

    assert line.endswith(
        "payment declined (card_declined) request_id=r-1 order_id=o-9 attempt=2 "
        'event=payment_declined reason="card declined"'
    )


def test_a_json_line_has_the_context_fields_and_a_dash_without_a_request():
    bound = json.loads(_emit_with_context(json_formatter(), request_id="r-2", user_id="u-1"))
    unbound = json.loads(_emit(json_formatter()))

    assert (bound["request_id"], bound["user_id"], bound["level"]) == ("r-2", "u-1", "INFO")
    assert bound["message"] == "payment declined (card_declined)"
    assert unbound["request_id"] == "-" and "user_id" not in unbound


def _emit_with_context(formatter, **fields) -> str:
    with context.bound(**fields):
        return _emit(formatter)


def test_the_context_is_restored_when_a_binding_ends():
    with context.bound(request_id="outer"):
        with context.bound(request_id="inner", task_id="t"):
            assert context.current() == {"request_id": "inner", "task_id": "t"}
        assert context.current() == {"request_id": "outer"}
    assert context.get("request_id") is None


def test_production_workers_have_no_diagnostic_tasks():
    listing = "from workers.celery import celery; print(sorted(celery.tasks))"
    names = {}
    for flag in ("false", "true"):
        env = {**os.environ, "ENABLE_DIAGNOSTIC_TASKS": flag}
        done = subprocess.run(
            [sys.executable, "-c", listing],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        names[flag] = done.stdout

    assert "tasks.diagnostics" not in names["false"]
    assert "tasks.orders.reserve_stock" in names["false"]
    assert "tasks.diagnostics.fail" in names["true"]
