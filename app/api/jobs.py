"""Scheduled jobs (operators): each job's last run and outcome, and the recent runs."""

from __future__ import annotations

from flask.views import MethodView

from app.api.admin_schemas import JobsOverviewSchema
from app.api.base import Blueprint
from app.auth import staff_required
from beat.schedule import BEAT_SCHEDULE
from services.ops import jobs

blp = Blueprint("jobs", __name__, description="Scheduled job runs (staff).")


@blp.route("/admin/jobs")
class Jobs(MethodView):
    decorators = [staff_required]

    @blp.response(200, JobsOverviewSchema)
    def get(self):
        """Each scheduled job's last run and outcome, plus the most recent runs."""
        overview = jobs.overview(BEAT_SCHEDULE)
        for job in overview["jobs"]:
            entry = BEAT_SCHEDULE.get(job["job"], {})
            job["task"] = entry.get("task")
            job["schedule"] = _describe(entry["schedule"]) if entry else None
        return overview


def _describe(schedule) -> str:
    if isinstance(schedule, int | float):
        return f"every {schedule:g} s"
    return str(schedule)
