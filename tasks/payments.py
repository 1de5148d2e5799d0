"""Payment tasks on the payments queue: provider events applied once each."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery import shared_task

from services import payments
from services.notifications import staff as staff_alerts
from services.notifications.email import TransientEmailError
from services.ops.jobs import record_run
from services.payments import events, polling, reconciliation, refunds
from tasks.chains import send_recorded
from tasks.orders import STEP_RETRY

log = logging.getLogger(__name__)


@shared_task(name="tasks.payments.handle_payment_event", bind=True, **STEP_RETRY)
def handle_payment_event(self, payload: dict) -> str:
    """Apply one verified provider event to its order (forward only, once)."""
    event = events.PaymentEvent(**payload)
    try:
        outcome, outbox_ids = events.apply(event)
    except events.placement.OrderNotFound:
        log.warning("payment event %s names no order", event.event_id)
        return "ignored"
    send_recorded(self.app, outbox_ids)
    if event.type == "charge.dispute.created" and outcome in ("applied", "duplicate"):
        # "duplicate": this task's earlier try applied it, then the mail failed.
        events.mail_staff_about_dispute(event)
    return outcome


@shared_task(name="tasks.payments.refund_payment", bind=True, **STEP_RETRY)
def refund_payment(self, refund_id: str) -> str:
    """Make one recorded refund through the provider (once: keyed by the refund's id)."""
    send_recorded(self.app, refunds.make_refund(uuid.UUID(refund_id)))
    return "done"


@shared_task(name="tasks.payments.poll_stuck_payments", bind=True)
def poll_stuck_payments(self) -> dict:
    """Beat: settle orders whose payment has waited for minutes (webhooks are the fast
    path, this is the safety net) from the PaymentIntent's state, or expire them."""
    with record_run("poll_stuck_payments") as run:
        stuck_after = timedelta(seconds=payments.settings().stuck_after_seconds)
        counts, outbox_ids = polling.settle_stuck_payments(stuck_after=stuck_after)
        run.counts.update(counts)
    send_recorded(self.app, outbox_ids)
    if counts["checked"]:
        log.info("stuck payments: %s", dict(counts), extra={"counts": dict(counts)})
    return dict(counts)


@shared_task(name="tasks.payments.reconcile_payments", bind=True)
def reconcile_payments(self) -> str:
    """Nightly: the provider's PaymentIntents of the last 48 h against our payments; a report
    per run, staff mailed on any mismatch."""
    with record_run("reconcile_payments") as run:
        report, outbox_ids = reconciliation.reconcile()
        run.counts.update(
            report_id=str(report.id),
            intents_checked=report.intents_checked,
            payments_checked=report.payments_checked,
            mismatches=report.mismatches,
            settled=report.settled,
        )
    send_recorded(self.app, outbox_ids)
    log.info("payment reconciliation: %d mismatches, %d settled", report.mismatches, report.settled)
    if report.mismatches:
        try:
            staff_alerts.mail_payment_mismatches(report)
        except TransientEmailError:  # the report stands; staff read it at the endpoint
            log.warning("payment mismatch mail not sent", exc_info=True)
    return str(report.id)
