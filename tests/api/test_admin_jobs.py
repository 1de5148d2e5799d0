"""GET /admin/jobs for people: schedules as text, last run, last success and next run per
job; one job's last 20 runs; running a job now (admin, audited, run by a real worker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import AuditLog, JobRun, Role, db
from tests.factories import auth_headers, make_user
from tests.support.waiting import wait_for


@pytest.fixture
def staff_headers(app, session):
    return auth_headers(app, make_user(role=Role.STAFF))


def _runs(job: str, count: int, now: datetime, every: timedelta, status: str = "succeeded"):
    return [
        JobRun(
            job=job,
            status=status,
            started_at=now - every * (i + 1),
            finished_at=now - every * (i + 1) + timedelta(milliseconds=50),
        )
        for i in range(count)
    ]


def test_jobs_show_schedules_as_text_and_each_jobs_last_success_and_next_run(
    client, session, staff_headers
):
    # Given a heartbeat that last succeeded 30 s ago, then failed 10 s ago
    now = datetime.now(UTC)
    session.add_all(_runs("heartbeat", 1, now, timedelta(seconds=30)))
    session.add(JobRun(job="heartbeat", status="failed", started_at=now - timedelta(seconds=10)))
    session.commit()

    # When an operator lists the jobs
    body = client.get("/api/v1/admin/jobs", headers=staff_headers).json
    jobs = {job["job"]: job for job in body["jobs"]}

    # Then the schedules read as text
    assert jobs["outbox_relay"]["schedule"] == "every 5 s"
    assert jobs["expire_carts"]["schedule"] == "every 15 min"
    assert jobs["low_stock_alerts"]["schedule"] == "hourly at :00"
    assert jobs["reconcile_stock"]["schedule"] == "daily at 02:00 UTC"
    # And each job says when it last succeeded and when it runs next
    heartbeat = jobs["heartbeat"]
    assert heartbeat["last_run"]["status"] == "failed"
    last_success = datetime.fromisoformat(heartbeat["last_success_at"])
    assert abs((last_success - (now - timedelta(seconds=30))).total_seconds()) < 1
    next_run = datetime.fromisoformat(heartbeat["next_run_at"])
    assert abs((next_run - (now + timedelta(seconds=50))).total_seconds()) < 2
    assert datetime.fromisoformat(jobs["reconcile_stock"]["next_run_at"]).hour == 2
    assert jobs["reconcile_stock"]["last_success_at"] is None


def test_one_jobs_page_shows_its_last_20_runs_whatever_a_busy_job_does(
    client, session, staff_headers
):
    # Given a busy relay and an hourly job
    now = datetime.now(UTC)
    session.add_all(_runs("outbox_relay", 40, now, timedelta(seconds=5)))
    session.add_all(_runs("low_stock_alerts", 3, now, timedelta(hours=1)))
    session.commit()

    # When an operator opens the hourly job
    body = client.get("/api/v1/admin/jobs/low_stock_alerts", headers=staff_headers).json
    busy = client.get("/api/v1/admin/jobs/outbox_relay", headers=staff_headers).json

    # Then it shows its own runs, newest first, and the busy one at most 20
    assert [run["job"] for run in body["runs"]] == ["low_stock_alerts"] * 3
    started = [run["started_at"] for run in body["runs"]]
    assert started == sorted(started, reverse=True)
    assert body["schedule"] == "hourly at :00" and body["last_success_at"]
    assert len(busy["runs"]) == 20
    missing = client.get("/api/v1/admin/jobs/no_such_job", headers=staff_headers)
    assert (missing.status_code, missing.json["error"]) == (404, "job_not_found")


@pytest.mark.worker
def test_an_admin_runs_a_job_now_and_the_request_is_audited(app, committed, worker):
    client = app.test_client()
    staff = auth_headers(app, make_user(role=Role.STAFF))
    admin_user = make_user(role=Role.ADMIN)
    admin = auth_headers(app, admin_user)

    # When staff try, they may not; when an admin asks for the heartbeat, it is sent
    assert client.post("/api/v1/admin/jobs/heartbeat/run", headers=staff).status_code == 403
    response = client.post("/api/v1/admin/jobs/heartbeat/run", headers=admin)

    # Then the worker runs it, and the audit trail says who asked
    assert response.status_code == 202
    assert response.json["task"] == "tasks.maintenance.heartbeat"

    def heartbeat_ran():
        db.session.expire_all()
        return db.session.scalar(select(JobRun).where(JobRun.job == "heartbeat"))

    assert wait_for(heartbeat_ran).status in ("running", "succeeded")
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity == "job")).one()
    assert (entry.actor_id, entry.action, entry.entity_id) == (admin_user.id, "run", "heartbeat")
    assert entry.after["task_id"] == response.json["task_id"]
    unknown = client.post("/api/v1/admin/jobs/nope/run", headers=admin)
    assert unknown.status_code == 404
