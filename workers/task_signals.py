"""Every task's log context and metrics, from Celery's signals (API, workers and beat).

- publishing: the bound request id goes into the message headers, so a task sent while a
  request (or another task, or a chain step) runs carries it on;
- running: the request id is restored from the headers and the task's own fields bound
  (task id and name, queue, attempt, and the order of an order step);
- finishing: ``bookstore_tasks_total{outcome}``, ``bookstore_task_seconds`` and, for order
  steps, ``bookstore_order_step_seconds`` / ``..._failures_total``; one line per task, except
  the frequent housekeeping tasks, which log only what they did."""

from __future__ import annotations

import logging
import time

from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
)

from services.observability import context as log_context
from services.observability import metrics
from tasks import chains

log = logging.getLogger("bookstore.tasks")

ORDER_STEP_TASKS = {
    chains.RESERVE_STOCK,
    chains.CAPTURE_PAYMENT,
    chains.CONFIRM_ORDER,
    chains.SEND_ORDER_EMAIL,
    chains.REQUEST_SHIPMENT,
    chains.REINDEX_BOOKS,
}
# Run every few seconds: their own line says when they did something.
QUIET_TASKS = {"tasks.maintenance.relay_outbox", "tasks.maintenance.heartbeat"}
# Celery's own per-task lines ("received", "succeeded in") repeat ours without the context.
CELERY_CHATTY_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.beat")

_started: dict[str, float] = {}
_failed: set[str] = set()


@setup_logging.connect
def _keep_our_logging(**_) -> None:
    """Celery leaves the root logger alone: create_app configured it (LOG_LEVEL/LOG_FORMAT)."""
    for name in CELERY_CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@before_task_publish.connect
def _stamp_request_id(headers=None, **_) -> None:
    request_id = log_context.get("request_id")
    if request_id and headers is not None and not headers.get(log_context.REQUEST_ID_HEADER):
        headers[log_context.REQUEST_ID_HEADER] = request_id


def _request_id_of(task) -> str | None:
    request = task.request
    value = getattr(request, log_context.REQUEST_ID_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(log_context.REQUEST_ID_HEADER)
    return value


def _queue_of(task) -> str:
    delivery = getattr(task.request, "delivery_info", None) or {}
    return delivery.get("routing_key") or "-"


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, args=None, **_) -> None:
    log_context.clear()
    order_id = args[0] if task.name in ORDER_STEP_TASKS and args else None
    log_context.bind(
        request_id=_request_id_of(task),
        task_id=task_id,
        task_name=task.name,
        queue=_queue_of(task),
        attempt=(task.request.retries or 0) + 1,
        order_id=order_id,
    )
    _started[task_id] = time.perf_counter()


@task_retry.connect
def _count_retry(sender=None, request=None, reason=None, **_) -> None:
    if sender is not None and sender.name in ORDER_STEP_TASKS:
        step = sender.name.rsplit(".", 1)[-1]
        metrics.ORDER_STEP_FAILURES.labels(step, type(reason).__name__).inc()
    log.warning("task will be retried: %s", reason)


@task_failure.connect
def _count_failure(sender=None, task_id=None, exception=None, **_) -> None:
    _failed.add(task_id)
    if sender is not None and sender.name in ORDER_STEP_TASKS:
        step = sender.name.rsplit(".", 1)[-1]
        metrics.ORDER_STEP_FAILURES.labels(step, type(exception).__name__).inc()


@task_postrun.connect
def _finish_task(task_id=None, task=None, retval=None, state=None, **_) -> None:
    try:
        started = _started.pop(task_id, None)
        failed = task_id in _failed
        _failed.discard(task_id)
        if not task.name.startswith("tasks."):
            return
        elapsed = time.perf_counter() - started if started is not None else 0.0
        outcome = _outcome(state, retval, failed)
        metrics.TASKS.labels(task.name, _queue_of(task), outcome).inc()
        metrics.TASK_SECONDS.labels(task.name).observe(elapsed)
        if task.name in ORDER_STEP_TASKS:
            metrics.ORDER_STEP_SECONDS.labels(task.name.rsplit(".", 1)[-1]).observe(elapsed)
        if task.name not in QUIET_TASKS or outcome != "success":
            level = logging.INFO if outcome in ("success", "domain_stop") else logging.WARNING
            log.log(
                level,
                "task %s %s in %.1fms",
                task.name,
                outcome,
                elapsed * 1000,
                extra={"outcome": outcome, "duration_ms": round(elapsed * 1000, 1)},
            )
    finally:
        log_context.clear()


def _outcome(state: str | None, retval, failed: bool) -> str:
    if failed or state == "FAILURE":
        return "failure"
    if state == "RETRY":
        return "retry"
    if isinstance(retval, dict) and retval.get("outcome") == "stopped":
        return "domain_stop"
    return "success"
