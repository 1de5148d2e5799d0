"""Feeds the failed-task store: our tasks (``tasks.*``) that failed for good.

``task_failure`` fires only when a task ends in an exception: a task that retries raises
``Retry`` (reported by ``task_retry``), so this sees a task once its retries ran out."""

from __future__ import annotations

import logging

from celery.signals import task_failure

from services.ops import failed_tasks

log = logging.getLogger(__name__)


@task_failure.connect
def record_failed_task(
    sender=None, task_id=None, exception=None, args=None, kwargs=None, einfo=None, **_
) -> None:
    name = getattr(sender, "name", "") or ""
    if not name.startswith("tasks."):
        return
    delivery = getattr(sender.request, "delivery_info", None) or {}
    queue = delivery.get("routing_key") or _routed_queue(sender)
    request = sender.request
    # The steps after this one in its chain, and its callbacks: re-driving it continues them.
    options = {
        "chain": getattr(request, "chain", None),
        "link": getattr(request, "callbacks", None),
        "link_error": getattr(request, "errbacks", None),
    }
    try:
        failed_tasks.record_failure(
            task_name=name,
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            queue=queue,
            exception=f"{type(exception).__name__}: {exception}",
            traceback=str(einfo) if einfo else None,
            options={name: value for name, value in options.items() if value},
        )
    except Exception:
        # The store being down must not hide the original failure (still in the logs).
        log.exception("could not record failed task %s[%s]", name, task_id)


def _routed_queue(task) -> str | None:
    route = task.app.amqp.router.route({}, task.name)
    queue = route.get("queue")
    return getattr(queue, "name", queue)
