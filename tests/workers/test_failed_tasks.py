"""Tasks that fail for good land in the failed-task store and can be re-driven."""

from __future__ import annotations

import uuid

import pytest
import redis
from celery import chain
from sqlalchemy import select

from models import FailedTask, Role, db
from tasks.diagnostics import echo, fail, fail_until, flaky
from tests.conftest import TEST_REDIS_URL
from tests.factories import auth_headers, make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.worker


def failed_record(task_id: str) -> FailedTask | None:
    db.session.rollback()
    return db.session.scalars(select(FailedTask).where(FailedTask.task_id == task_id)).first()


def test_a_failing_task_is_stored_and_re_driven_through_the_api(app, worker, committed):
    # Given a task that fails with no retries left
    result = fail.apply_async(args=["printer on fire"])

    # Then it lands in the failed-task store with everything needed to re-send it
    record = wait_for(lambda: failed_record(result.id))
    assert (record.task_name, record.args, record.kwargs) == (
        "tasks.diagnostics.fail",
        ["printer on fire"],
        {},
    )
    assert record.queue == "default"
    assert record.exception == "RuntimeError: printer on fire"
    assert "printer on fire" in record.traceback
    assert record.status == "failed"

    # When an operator re-drives it
    client = app.test_client()
    staff = auth_headers(app, make_user(role=Role.STAFF))
    listed = client.get("/api/v1/admin/failed-tasks", headers=staff).json["items"]
    assert [item["task_id"] for item in listed] == [result.id]
    response = client.post(f"/api/v1/admin/failed-tasks/{record.id}/retry", headers=staff)

    # Then it is marked retried and the task really ran again (and failed again, anew)
    assert response.status_code == 202
    assert response.json["status"] == "retried"
    again_id = response.json["retried_task_id"]
    again = wait_for(lambda: failed_record(again_id))
    assert again.args == ["printer on fire"]
    assert failed_record(result.id).retried_at is not None
    # and re-driving the same record twice is refused
    twice = client.post(f"/api/v1/admin/failed-tasks/{record.id}/retry", headers=staff)
    assert (twice.status_code, twice.json["error"]) == (409, "already_retried")
    only_failed = client.get(
        "/api/v1/admin/failed-tasks", query_string={"status": "failed"}, headers=staff
    ).json["items"]
    assert [item["task_id"] for item in only_failed] == [again_id]


def test_a_task_that_retries_and_then_succeeds_is_not_a_failure(app, worker, committed):
    result = flaky.apply_async(args=["fine in the end", 2])

    assert result.get(timeout=30) == "fine in the end"
    assert failed_record(result.id) is None


def test_a_task_that_exhausts_its_retries_is_stored_once(app, worker, committed):
    result = flaky.apply_async(args=["never fine", 9])  # more failures than max_retries=5

    record = wait_for(lambda: failed_record(result.id))
    assert record.exception.startswith("MaxRetriesExceededError")
    db.session.rollback()
    assert len(db.session.scalars(select(FailedTask)).all()) == 1


def test_a_re_driven_step_continues_its_chain(app, worker, committed):
    # Given a two-step chain whose first step fails (its cause not fixed yet)
    flag = f"flag-{uuid.uuid4().hex[:8]}"
    flow = chain(fail_until.si(flag), echo.si({"trail": []}, "after the fix")).apply_async()
    first_step_id = flow.parent.id
    record = wait_for(lambda: failed_record(first_step_id))
    assert [step["task"] for step in record.options["chain"]] == ["tasks.diagnostics.echo"]

    # When the cause is fixed and an operator re-drives the failed step
    redis.Redis.from_url(TEST_REDIS_URL).set(f"diagnostics:{flag}", 1)
    staff = auth_headers(app, make_user(role=Role.STAFF))
    response = app.test_client().post(
        f"/api/v1/admin/failed-tasks/{record.id}/retry", headers=staff
    )
    assert response.status_code == 202

    # Then the rest of the chain runs too: Celery had marked the second step failed along
    # with the first; now it succeeds under its original id
    celery_app = app.extensions["celery"]
    wait_for(lambda: celery_app.AsyncResult(flow.id).state == "SUCCESS")
    result = celery_app.AsyncResult(flow.id).result
    assert [hop["stamp"] for hop in result["trail"]] == ["after the fix"]
