"""Payment tasks on the payments queue: provider events applied once each."""

from __future__ import annotations

import logging

from celery import shared_task

from services.payments import events
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
