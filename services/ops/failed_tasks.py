"""The failed-task store: tasks whose retries ran out, kept for an operator to re-drive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from models import FailedTask, FailedTaskStatus, db
from services.errors import Conflict, NotFound
from services.pagination import Page, newest_first

MAX_TRACEBACK_LENGTH = 8000
MAX_EXCEPTION_LENGTH = 2000


class AlreadyRetried(Conflict):
    """This failed task was already re-sent; a new failure gets a record of its own."""

    error = "already_retried"


def record_failure(
    task_name: str,
    task_id: str,
    args: list | tuple | None,
    kwargs: dict | None,
    queue: str | None,
    exception: str,
    traceback: str | None,
    options: dict | None = None,
) -> None:
    """Store a failure in its own transaction (committed here); a second report of the same
    task id is ignored. The traceback keeps its last lines when it is long. ``options``
    holds the rest of the message a re-send needs (remaining chain, callbacks)."""
    if traceback and len(traceback) > MAX_TRACEBACK_LENGTH:
        traceback = "...\n" + traceback[-MAX_TRACEBACK_LENGTH:]
    with db.session_factory() as own:
        own.execute(
            insert(FailedTask)
            .values(
                id=uuid.uuid4(),
                task_name=task_name,
                task_id=task_id,
                args=list(args or []),
                kwargs=dict(kwargs or {}),
                queue=queue,
                options=dict(options or {}),
                exception=exception[:MAX_EXCEPTION_LENGTH],
                traceback=traceback,
                status=FailedTaskStatus.FAILED,
            )
            .on_conflict_do_nothing(index_elements=["task_id"])
        )
        own.commit()


def failed_tasks(status: str | None = None, limit: int = 20, cursor: str | None = None) -> Page:
    """Failed tasks, newest first, optionally only those with ``status``."""
    query = select(FailedTask)
    if status:
        query = query.where(FailedTask.status == status)
    return newest_first(query, FailedTask.failed_at, FailedTask.id, "failed", limit, cursor)


def lock_for_retry(failed_id: uuid.UUID) -> FailedTask:
    """Lock a failed task that may be re-sent; raises NotFound or AlreadyRetried."""
    failed = db.session.scalars(
        select(FailedTask).where(FailedTask.id == failed_id).with_for_update()
    ).one_or_none()
    if failed is None:
        raise NotFound("No such failed task.")
    if failed.status == FailedTaskStatus.RETRIED:
        raise AlreadyRetried(retried_task_id=failed.retried_task_id)
    return failed


def mark_retried(failed: FailedTask, new_task_id: str) -> FailedTask:
    """Note that the task was re-sent as ``new_task_id``. Does not commit."""
    failed.status = FailedTaskStatus.RETRIED
    failed.retried_at = datetime.now(UTC)
    failed.retried_task_id = new_task_id
    db.session.flush()
    return failed
