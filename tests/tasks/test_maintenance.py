"""The maintenance jobs on a real worker: low-stock alerts and stock reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from models import JobRun, Notification, Role, db
from services.inventory import stock as inventory
from tasks.maintenance import low_stock_alerts, reconcile_stock
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift

pytestmark = pytest.mark.worker


def run_alerts() -> list[str]:
    """Run the job on the worker; the titles it alerted about."""
    low_stock_alerts.apply_async().get(timeout=30)
    db.session.rollback()
    last = db.session.scalars(
        select(JobRun).where(JobRun.job == "low_stock_alerts").order_by(JobRun.started_at.desc())
    ).first()
    assert last.status == "succeeded"
    assert last.counts["alerted"] == len(last.counts["alerts"])
    return sorted(alert["title"] for alert in last.counts["alerts"])


def test_low_stock_is_alerted_once_per_crossing(app, worker, committed):
    # Given a book above its threshold (5) and one already at it
    book = make_book(title="Dune", on_hand=6)
    make_book(title="Emma", on_hand=5)

    # Then the first run alerts only the one at its threshold, and never twice
    assert run_alerts() == ["Emma"]
    assert run_alerts() == []

    # When Dune falls to its threshold (a reservation counts), it is alerted once
    inventory.reserve(uuid.uuid4(), [(book.id, 1)], datetime.now(UTC) + timedelta(hours=1))
    db.session.commit()
    assert run_alerts() == ["Dune"]
    assert run_alerts() == []

    # A delivery that stays at the threshold does not re-arm it; one above does
    inventory.adjust(book.id, -1, "damaged")
    db.session.commit()
    assert run_alerts() == []
    inventory.adjust(book.id, 10, "delivery")
    db.session.commit()
    assert run_alerts() == []

    # and the next crossing is alerted again
    inventory.set_stock(book.id, 3)
    db.session.commit()
    assert run_alerts() == ["Dune"]


def test_reconciliation_job_repairs_drift_and_shows_in_admin(app, worker, committed, engine):
    # Given stock drifted behind the ledger's back
    book = make_book(on_hand=8)
    inventory.reserve(uuid.uuid4(), [(book.id, 2)], datetime.now(UTC) + timedelta(hours=1))
    db.session.commit()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE stock SET reserved = reserved + 3 WHERE book_id = :id"), {"id": book.id}
        )

    # When the nightly job runs on the worker
    report_id = reconcile_stock.apply_async().get(timeout=60)

    # Then the drift is gone and the report and the job run say so
    with engine.connect() as conn:
        assert ledger_drift(conn) == []
    client = app.test_client()
    staff = auth_headers(app, make_user(role=Role.STAFF))
    reports = client.get("/api/v1/admin/reports/reconciliation", headers=staff).json
    assert reports["latest"]["id"] == report_id
    assert reports["latest"]["drift_found"] == 1
    assert reports["latest"]["repairs"][0]["field"] == "reserved"
    jobs = {j["job"]: j for j in client.get("/api/v1/admin/jobs", headers=staff).json["jobs"]}
    last = jobs["reconcile_stock"]["last_run"]
    assert last["status"] == "succeeded"
    assert last["counts"] == {"report_id": report_id, "rows_checked": 1, "drift_found": 1}
    assert jobs["reconcile_stock"]["schedule"] == "daily at 02:00 UTC"

    # and a second run finds nothing
    second = reconcile_stock.apply_async().get(timeout=60)
    detail = client.get(f"/api/v1/admin/reports/reconciliation/{second}", headers=staff).json
    assert (detail["drift_found"], detail["repairs"]) == (0, [])


def staff_mail(template: str) -> list[tuple[str, str]]:
    """(recipient, subject) of every sent mail of ``template``, oldest first."""
    db.session.rollback()
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.template == template)
        .order_by(Notification.created_at)
    )
    return [(n.to_email, n.subject) for n in rows if n.status == "sent"]


def test_staff_get_one_low_stock_digest_per_crossing_run(app, worker, committed):
    # Given two staff members, a customer, and one book at its threshold
    staff = [make_user(role=Role.STAFF), make_user(role=Role.ADMIN)]
    make_user()
    book = make_book(title="Dune", on_hand=6)
    make_book(title="Emma", on_hand=5)

    # When the job runs twice
    assert run_alerts() == ["Emma"]
    assert run_alerts() == []

    # Then each staff member got exactly one digest, and nobody else
    first = staff_mail("low_stock_alert")
    assert sorted(to for to, _ in first) == sorted(user.email for user in staff)
    assert all("1 book at or under" in subject for _, subject in first)

    # And a new crossing brings one more digest each, of the new book only (Emma, still low,
    # was reported before)
    inventory.set_stock(book.id, 2)
    db.session.commit()
    assert run_alerts() == ["Dune"]
    mails = staff_mail("low_stock_alert")
    assert len(mails) == 4
    assert all("1 book at or under" in subject for _, subject in mails[2:])


def test_staff_are_mailed_about_drift(app, worker, committed, engine):
    staff = make_user(role=Role.STAFF)
    book = make_book(on_hand=8)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock SET on_hand = 5 WHERE book_id = :id"), {"id": book.id})

    reconcile_stock.apply_async().get(timeout=60)
    reconcile_stock.apply_async().get(timeout=60)  # no drift left: no second mail

    assert staff_mail("stock_drift_alert") == [
        (staff.email, "Stock reconciliation found drift in 1 row")
    ]
