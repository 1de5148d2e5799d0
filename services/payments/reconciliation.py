"""Nightly payment reconciliation: the provider's PaymentIntents of the last 48 hours against
our payments. Findings are reported (and mailed to staff); nothing is changed, except that a
waiting order whose outcome the provider has decided is settled as the poller would."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Order, OrderStatus, Payment, PaymentReconciliationReport, db
from services import payments
from services.orders.placement import CONFIRMED_OR_LATER
from services.payments import polling
from services.payments.base import PaymentStatus, ProviderResult

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
# Our payment statuses whose money the provider should hold as captured.
TAKEN = (
    PaymentStatus.CAPTURED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
# Orders whose money was taken (a refunded one too: its capture happened).
PAID_ORDER = (*CONFIRMED_OR_LATER, OrderStatus.REFUNDED)
FINDINGS_KEPT = 500
FINDING_KINDS = (
    "captured_not_confirmed",
    "confirmed_not_captured",
    "amount_mismatch",
    "currency_mismatch",
    "refund_mismatch",
    "unmatched_intent",
    "unknown_order",
    "missing_at_provider",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _finding(kind: str, payment: Payment | None, intent: ProviderResult | None, **more) -> dict:
    return {
        "kind": kind,
        "order_id": str(payment.order_id) if payment else (intent.metadata.get("order_id")),
        "provider_ref": intent.provider_ref if intent else payment.provider_ref,
        "ours": (
            {
                "status": payment.status,
                "amount_cents": payment.amount_cents,
                "currency": payment.currency,
                "refunded_cents": payment.refunded_cents,
            }
            if payment
            else None
        ),
        "theirs": (
            {
                "status": intent.status.value,
                "amount_cents": intent.amount_cents,
                "currency": intent.currency,
                "refunded_cents": intent.amount_refunded,
            }
            if intent
            else None
        ),
        **more,
    }


def compare(payment: Payment | None, order: Order | None, intent: ProviderResult) -> list[dict]:
    """What disagrees between one PaymentIntent and our payment it belongs to."""
    if payment is None or payment.provider_ref != intent.provider_ref:
        # Not our current attempt: money must not be held or taken on it.
        if intent.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
            return [_finding("unmatched_intent", payment, intent)]
        return []
    found = []
    if intent.status == PaymentStatus.CAPTURED and order.status not in PAID_ORDER:
        found.append(_finding("captured_not_confirmed", payment, intent))
    if payment.status in TAKEN and intent.status != PaymentStatus.CAPTURED:
        found.append(_finding("confirmed_not_captured", payment, intent))
    if intent.amount_cents is not None and intent.amount_cents != payment.amount_cents:
        found.append(_finding("amount_mismatch", payment, intent))
    if intent.currency is not None and intent.currency != payment.currency.upper():
        found.append(_finding("currency_mismatch", payment, intent))
    if intent.status == PaymentStatus.CAPTURED and intent.amount_refunded != payment.refunded_cents:
        found.append(_finding("refund_mismatch", payment, intent))
    return found


def _ours_in_window(since: datetime) -> dict[str, Payment]:
    rows = db.session.scalars(
        select(Payment).where(Payment.created_at >= since, Payment.provider_ref.is_not(None))
    )
    return {payment.provider_ref: payment for payment in rows}


def reconcile(
    now: datetime | None = None, window: timedelta = WINDOW
) -> tuple[PaymentReconciliationReport, list[int]]:
    """One run: compare, settle what the provider decided, record the report. Returns it and
    the outbox ids to send. Commits."""
    now = now or _now()
    since = now - window
    gateway = payments.provider()
    report = PaymentReconciliationReport(
        window_from=since, window_to=now, provider=gateway.name, findings=[]
    )
    intents = gateway.list_since(int(since.timestamp()))
    findings: list[dict] = []
    settle: list[tuple[uuid.UUID, ProviderResult]] = []
    ours = _ours_in_window(since)
    if intents is not None:
        seen = set()
        for intent in intents:
            seen.add(intent.provider_ref)
            payment = _payment_for(intent, ours)
            order = db.session.get(Order, payment.order_id) if payment else None
            if payment is None and intent.metadata.get("order_id"):
                findings.append(_finding("unknown_order", None, intent))
                continue
            found = compare(payment, order, intent)
            if _decided_while_waiting(payment, order, intent):
                settle.append((order.id, intent))
            findings += found
        for ref, payment in ours.items():
            if ref not in seen and payment.provider == gateway.name:
                findings.append(_finding("missing_at_provider", payment, None))
        report.intents_checked = len(intents)
    report.payments_checked = len(ours)
    db.session.commit()
    settled_ids, outbox_ids = _settle(settle, now, findings)
    report.mismatches = len(findings)
    report.settled = len(settled_ids)
    report.findings = findings[:FINDINGS_KEPT]
    report.finished_at = _now()
    db.session.add(report)
    db.session.commit()
    return report, outbox_ids


def _decided_while_waiting(payment, order, intent: ProviderResult) -> bool:
    """A waiting order whose current PaymentIntent the provider has settled one way."""
    return (
        payment is not None
        and payment.provider_ref == intent.provider_ref
        and order.status in polling.WAITING
        and payment.status in polling.UNANSWERED
        and intent.status not in polling.UNANSWERED
    )


def _payment_for(intent: ProviderResult, ours: dict[str, Payment]) -> Payment | None:
    if intent.provider_ref in ours:
        return ours[intent.provider_ref]
    order_id = intent.metadata.get("order_id")
    try:
        return db.session.scalar(select(Payment).where(Payment.order_id == uuid.UUID(order_id)))
    except (TypeError, ValueError):
        return None


def _settle(settle, now: datetime, findings: list[dict]) -> tuple[list[uuid.UUID], list[int]]:
    """Waiting orders whose outcome the provider decided move on (as the poller would)."""
    settled, outbox = [], []
    for order_id, intent in settle:
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
        outcome, outbox_ids = polling.settle(
            order_id, payment.provider_ref, payment.attempt, intent, now
        )
        if outcome != "moved_on":
            settled.append(order_id)
            for finding in findings:
                if finding["order_id"] == str(order_id):
                    finding["settled"] = outcome
        outbox += outbox_ids
    return settled, outbox


def latest_reports(limit: int) -> list[PaymentReconciliationReport]:
    return list(
        db.session.scalars(
            select(PaymentReconciliationReport)
            .order_by(PaymentReconciliationReport.started_at.desc())
            .limit(limit)
        )
    )
