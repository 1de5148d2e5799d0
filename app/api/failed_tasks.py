"""The failed-task store (operators): tasks whose retries ran out, and re-driving them."""

from __future__ import annotations

import logging
import uuid

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from app.api.admin_schemas import FailedTaskListArgs, FailedTaskPageSchema, FailedTaskSchema
from app.api.base import Blueprint, contract
from app.auth import staff_required
from models import db
from services.ops import failed_tasks

log = logging.getLogger(__name__)

blp = Blueprint("failed_tasks", __name__, description="Failed tasks and re-driving them (staff).")


@blp.route("/admin/failed-tasks")
class FailedTasks(MethodView):
    decorators = [staff_required]

    @blp.arguments(FailedTaskListArgs, location="query")
    @blp.response(200, FailedTaskPageSchema)
    @blp.alt_response(400, description="`invalid_cursor`: malformed cursor.")
    def get(self, args):
        """Failed tasks, newest first (filter by status: failed or retried)."""
        return failed_tasks.failed_tasks(args["status"], args["limit"], args["cursor"])


@blp.route("/admin/failed-tasks/<uuid:failed_id>/retry")
class RetryFailedTask(MethodView):
    decorators = [staff_required]

    @blp.response(202, FailedTaskSchema)
    @blp.alt_response(404, description="`not_found`: no such failed task.")
    @blp.alt_response(409, description="`already_retried`: it was re-sent already.")
    @contract((503, "broker_unavailable"))
    @blp.alt_response(503, description="The task could not be sent.")
    def post(self, failed_id: uuid.UUID):
        """Re-send the task by name with its arguments to its queue."""
        failed = failed_tasks.lock_for_retry(failed_id)
        new_task_id = str(uuid.uuid4())
        celery_app = current_app.extensions["celery"]
        try:
            # Sent while the row is locked: a concurrent retry waits, then gets a 409.
            # Tasks are idempotent, so a send whose commit then fails is harmless.
            celery_app.send_task(
                failed.task_name,
                args=failed.args,
                kwargs=failed.kwargs,
                queue=failed.queue or None,
                task_id=new_task_id,
                # The rest of its chain and its callbacks, as the original message had them.
                chain=failed.options.get("chain"),
                link=failed.options.get("link"),
                link_error=failed.options.get("link_error"),
            )
        except Exception:
            log.exception("re-sending failed task %s", failed.id)
            db.session.rollback()
            abort(503, message="The broker is unavailable; try again.", error="broker_unavailable")
        failed = failed_tasks.mark_retried(failed, new_task_id)
        db.session.commit()
        return failed
