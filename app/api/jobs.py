"""Scheduled jobs (operators): each job's schedule, last run, last success and next run; one
job's recent runs; running a job now (admin, audited)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from app.api.admin_schemas import (
    JobDetailSchema,
    JobRunRequestedSchema,
    JobsOverviewSchema,
)
from app.api.base import Blueprint, contract
from app.auth import admin_required, require_user, staff_required
from beat.schedule import BEAT_SCHEDULE
from models import db
from services.ops import audit, jobs, schedules
from services.ops.jobs import JobNotFound

blp = Blueprint("jobs", __name__, description="Scheduled job runs (staff).")

RUNS_PER_JOB = 20


@blp.route("/admin/jobs")
class Jobs(MethodView):
    decorators = [staff_required]

    @blp.response(200, JobsOverviewSchema)
    def get(self):
        """Each scheduled job's schedule, last run, last success and next run, plus the most
        recent runs."""
        overview = jobs.overview(BEAT_SCHEDULE)
        successes = jobs.last_successes()
        for job in overview["jobs"]:
            _describe_job(job, successes)
        return overview


@blp.route("/admin/jobs/<string:name>")
class Job(MethodView):
    decorators = [staff_required]

    @contract(JobNotFound)
    @blp.response(200, JobDetailSchema)
    def get(self, name: str):
        """One job: its schedule, last success, next run and its last 20 runs."""
        runs = jobs.runs_of(name, RUNS_PER_JOB)
        if name not in BEAT_SCHEDULE and not runs:
            raise JobNotFound()
        job = {"job": name, "last_run": runs[0] if runs else None, "runs": runs}
        return _describe_job(job, jobs.last_successes())


@blp.route("/admin/jobs/<string:name>/run")
class RunJob(MethodView):
    decorators = [admin_required]

    @contract(JobNotFound)
    @blp.response(202, JobRunRequestedSchema)
    def post(self, name: str):
        """Run a scheduled job now (on its own queue); the request is audited."""
        entry = BEAT_SCHEDULE.get(name)
        if entry is None:
            raise JobNotFound()
        queue = entry.get("options", {}).get("queue")
        sent = current_app.extensions["celery"].send_task(entry["task"], queue=queue)
        requested = {"job": name, "task": entry["task"], "task_id": sent.id}
        audit.record(require_user().id, "run", "job", name, None, requested)
        db.session.commit()
        return requested


def _describe_job(job: dict, successes: dict) -> dict:
    entry = BEAT_SCHEDULE.get(job["job"])
    last_run = job["last_run"]
    job["task"] = entry["task"] if entry else None
    job["schedule"] = schedules.describe(entry["schedule"]) if entry else None
    job["last_success_at"] = successes.get(job["job"])
    job["next_run_at"] = (
        schedules.next_run(entry["schedule"], last_run.started_at if last_run else None)
        if entry
        else None
    )
    return job
