"""Mail to staff about stock: one low-stock digest per alert run, and reconciliation drift.

Each mail goes through ``notifications.send_once`` with a key naming the run and the
recipient, so a redelivered or repeated task never mails twice."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from models import Book, ReconciliationReport, Role, Stock, User, Warehouse, db
from services.notifications import delivery as notifications

log = logging.getLogger(__name__)

# Digests of runs this recent are (re)sent if still unsent: a run that died between marking
# its alerts and mailing them is completed by the next one.
CATCH_UP = timedelta(days=1)
ALERTS_PER_MAIL = 200
REPAIRS_PER_MAIL = 50


def staff() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_((Role.STAFF, Role.ADMIN)), User.is_active)
            .order_by(User.created_at)
        )
    )


def _mail_each(recipients: list[User], key: str, template: str, context: dict) -> int:
    """One mail per staff member, once per ``key`` and member; outside any transaction of ours
    (send_once commits)."""
    db.session.rollback()
    for user in recipients:
        notifications.send_once(
            f"{key}:{user.id}",
            user.email,
            template,
            {**context, "name": user.name},
            user_id=user.id,
        )
    return len(recipients)


def mail_low_stock_digests(now: datetime) -> int:
    """Mail every staff member the digest of each recent alert run whose books are still low.
    Returns how many digests were handled (already-sent ones are skipped by their key)."""
    runs = _still_low_by_run(now - CATCH_UP)
    recipients = staff()
    for alerted_at, alerts in runs.items():
        context = {
            "alerted_at": alerted_at,
            "alerts": alerts[:ALERTS_PER_MAIL],
            "total": len(alerts),
        }
        _mail_each(recipients, f"low-stock:{alerted_at}", "low_stock_alert", context)
    return len(runs)


def mail_drift(report: ReconciliationReport) -> None:
    context = {
        "report_id": str(report.id),
        "started_at": report.started_at.isoformat(),
        "rows_checked": report.rows_checked,
        "drift_found": report.drift_found,
        "repairs": list(report.repairs or [])[:REPAIRS_PER_MAIL],
    }
    _mail_each(staff(), f"drift:{report.id}", "stock_drift_alert", context)


def _still_low_by_run(since: datetime) -> dict[str, list[dict]]:
    rows = db.session.execute(
        select(Stock, Book.title, Warehouse.code)
        .join(Book, Book.id == Stock.book_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(
            Stock.low_stock_alerted_at >= since,
            Stock.on_hand - Stock.reserved <= Stock.low_stock_threshold,
        )
        .order_by(Stock.low_stock_alerted_at, Book.title)
    ).all()
    db.session.rollback()  # send_once commits; leave it no transaction of ours
    runs: dict[str, list[dict]] = defaultdict(list)
    for stock, title, code in rows:
        runs[stock.low_stock_alerted_at.isoformat()].append(
            {
                "title": title,
                "warehouse": code,
                "available": stock.available,
                "low_stock_threshold": stock.low_stock_threshold,
            }
        )
    return dict(runs)


def mail_shipment_exception(shipment_event_id: int) -> int:
    """Mail every staff member about a carrier exception on a shipment, once per event."""
    from services.shipping.tracking import exception_alert_context

    found = exception_alert_context(shipment_event_id)
    db.session.rollback()  # send_once commits; leave it no transaction of ours
    if found is None:
        return 0
    context, stem = found
    return _mail_each(staff(), stem, "staff_shipment_exception", context)


def mail_payment_mismatches(report) -> int:
    """Mail every staff member a payment reconciliation report that found mismatches."""
    context = {
        "report_id": str(report.id),
        "started_at": report.started_at.isoformat(),
        "provider": report.provider,
        "intents_checked": report.intents_checked,
        "payments_checked": report.payments_checked,
        "mismatches": report.mismatches,
        "settled": report.settled,
        "findings": list(report.findings or [])[:REPAIRS_PER_MAIL],
    }
    return _mail_each(staff(), f"payment-mismatch:{report.id}", "payment_mismatch_alert", context)


def mail_payment_dispute(order_id, order_number: str, amount: str, dispute_id: str) -> int:
    """Mail every staff member about a disputed payment, once per dispute."""
    context = {
        "order_id": str(order_id),
        "order_number": order_number,
        "amount": amount,
        "dispute_id": dispute_id,
    }
    return _mail_each(staff(), f"payment-dispute:{dispute_id}", "payment_dispute_alert", context)
