"""Payment tasks on the payments queue: provider events applied once each."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from services.payments import events, refunds
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
    return outcome


@shared_task(name="tasks.payments.refund_payment", bind=True, **STEP_RETRY)
def refund_payment(self, refund_id: str) -> str:
    """Make one recorded refund through the provider (once: keyed by the refund's id)."""
    send_recorded(self.app, refunds.make_refund(uuid.UUID(refund_id)))
    return "done"
