"""Operator endpoints: job runs, failed tasks and reconciliation reports (staff only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models import FailedTask, JobRun, ReconciliationReport, Role
from tests.factories import auth_headers, make_user

ADMIN_URLS = [
    ("get", "/api/v1/admin/jobs"),
    ("get", "/api/v1/admin/failed-tasks"),
    ("post", f"/api/v1/admin/failed-tasks/{uuid.uuid4()}/retry"),
    ("get", "/api/v1/admin/reports/reconciliation"),
    ("get", f"/api/v1/admin/reports/reconciliation/{uuid.uuid4()}"),
]


@pytest.fixture
def staff_headers(app, session):
    return auth_headers(app, make_user(role=Role.STAFF))


@pytest.mark.parametrize(("method", "url"), ADMIN_URLS)
def test_admin_endpoints_need_staff(app, client, method, url):
    customer = auth_headers(app, make_user())
    assert getattr(client, method)(url).status_code == 401
    response = getattr(client, method)(url, headers=customer)
    assert (response.status_code, response.json["error"]) == (403, "forbidden")


def test_jobs_list_every_scheduled_job_with_its_last_run(client, session, staff_headers):
    now = datetime.now(UTC)
    session.add_all(
        [
            JobRun(job="low_stock_alerts", status="succeeded", started_at=now - timedelta(hours=2)),
            JobRun(
                job="low_stock_alerts",
                status="failed",
                started_at=now - timedelta(hours=1),
                error="OperationalError: gone",
            ),
        ]
    )
    session.commit()

    body = client.get("/api/v1/admin/jobs", headers=staff_headers).json

    jobs = {job["job"]: job for job in body["jobs"]}
    assert {"heartbeat", "low_stock_alerts", "reconcile_stock"} <= set(jobs)
    assert jobs["low_stock_alerts"]["last_run"]["status"] == "failed"
    assert jobs["low_stock_alerts"]["last_run"]["error"] == "OperationalError: gone"
    assert jobs["low_stock_alerts"]["task"] == "tasks.maintenance.low_stock_alerts"
    assert jobs["reconcile_stock"]["last_run"] is None
    assert jobs["heartbeat"]["schedule"] == "every 60 s"
    assert [run["status"] for run in body["recent"]] == ["failed", "succeeded"]


def test_failed_tasks_page_newest_first(client, session, staff_headers):
    now = datetime.now(UTC)
    for i in range(3):
        session.add(
            FailedTask(
                task_name="tasks.orders.reserve_stock",
                task_id=f"task-{i}",
                args=[str(i)],
                kwargs={},
                queue="orders",
                exception="OperationalError: db down",
                failed_at=now - timedelta(minutes=10 - i),
            )
        )
    session.commit()

    first = client.get(
        "/api/v1/admin/failed-tasks", query_string={"limit": 2}, headers=staff_headers
    ).json
    second = client.get(
        "/api/v1/admin/failed-tasks",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=staff_headers,
    ).json

    assert [t["task_id"] for t in first["items"] + second["items"]] == [
        "task-2",
        "task-1",
        "task-0",
    ]
    assert second["next_cursor"] is None


def test_failed_tasks_bad_input(client, staff_headers):
    bad_status = client.get(
        "/api/v1/admin/failed-tasks", query_string={"status": "exploded"}, headers=staff_headers
    )
    bad_cursor = client.get(
        "/api/v1/admin/failed-tasks", query_string={"cursor": "nope"}, headers=staff_headers
    )
    missing = client.post(f"/api/v1/admin/failed-tasks/{uuid.uuid4()}/retry", headers=staff_headers)

    assert (bad_status.status_code, bad_status.json["error"]) == (422, "validation_error")
    assert (bad_cursor.status_code, bad_cursor.json["error"]) == (400, "invalid_cursor")
    assert (missing.status_code, missing.json["error"]) == (404, "not_found")


def test_reconciliation_reports_latest_and_pages(client, session, staff_headers):
    now = datetime.now(UTC)
    reports = [
        ReconciliationReport(
            started_at=now - timedelta(days=3 - i),
            finished_at=now - timedelta(days=3 - i),
            rows_checked=10,
            drift_found=i,
            repairs=[],
        )
        for i in range(3)
    ]
    session.add_all(reports)
    session.commit()

    first = client.get(
        "/api/v1/admin/reports/reconciliation", query_string={"limit": 2}, headers=staff_headers
    ).json
    rest = client.get(
        "/api/v1/admin/reports/reconciliation",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=staff_headers,
    ).json
    missing = client.get(
        f"/api/v1/admin/reports/reconciliation/{uuid.uuid4()}", headers=staff_headers
    )

    assert first["latest"]["drift_found"] == 2
    assert [r["drift_found"] for r in first["items"] + rest["items"]] == [2, 1, 0]
    assert (missing.status_code, missing.json["error"]) == (404, "not_found")
