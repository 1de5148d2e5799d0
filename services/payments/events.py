"""Provider events (Stripe webhooks) applied to orders: once each, forward only.

Each handler locks the order, records the event id in the same transaction as its effect (a
redelivered event finds its row and changes nothing), re-reads the PaymentIntent from the
provider, and moves the order only forward: a late or repeated event is a no-op."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import stripe
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from models import OrderStatus, Payment, ProcessedPaymentEvent, StepStatus, db
from services import outbox, payments
from services.errors import InvalidInput
from services.orders import placement
from services.payments import review
from services.payments.base import PaymentStatus

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
CAPTURABLE = ("payment_intent.amount_capturable_updated", "payment_intent.succeeded")
HANDLED = (
    *CAPTURABLE,
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "charge.dispute.created",
)
WAITING = (OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT)


class InvalidSignature(InvalidInput):
    """The Stripe-Signature header is missing, wrong or too old."""

    error = "invalid_signature"


@dataclass(frozen=True)
class PaymentEvent:
    """A verified event, reduced to what the handlers need (the task's argument)."""

    event_id: str
    type: str
    provider_ref: str | None  # the PaymentIntent
    order_id: str | None = None
    details: dict = field(default_factory=dict)

    def as_payload(self) -> dict:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "provider_ref": self.provider_ref,
            "order_id": self.order_id,
            "details": self.details,
        }


def verify(payload: bytes, signature: str | None, secret: str | None) -> PaymentEvent:
    """Check Stripe-Signature (HMAC of the raw body, 5 minutes' tolerance) and parse."""
    if not signature or not secret:
        raise InvalidSignature()
    try:
        stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
        event = json.loads(payload)  # plain values (the library's objects are not dicts)
        obj = event["data"]["object"]
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature() from exc
    kind = obj.get("object")
    # A charge or a dispute names its PaymentIntent.
    ref = obj.get("id") if kind == "payment_intent" else obj.get("payment_intent")
    metadata = obj.get("metadata") or {}
    return PaymentEvent(
        event_id=event["id"],
        type=event["type"],
        provider_ref=ref if isinstance(ref, str) else None,
        order_id=metadata.get("order_id") or None,
        details={"object": kind, "object_id": obj.get("id")},
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _claim(event: PaymentEvent, order_id: uuid.UUID | None, outcome: str) -> bool:
    """Record the event as processed; False if it already was (a redelivery)."""
    inserted = db.session.execute(
        insert(ProcessedPaymentEvent)
        .values(event_id=event.event_id, type=event.type, order_id=order_id, outcome=outcome)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(ProcessedPaymentEvent.event_id)
    ).first()
    return inserted is not None


def already_processed(event_id: str) -> bool:
    return db.session.get(ProcessedPaymentEvent, event_id) is not None


def record_ignored(event: PaymentEvent) -> None:
    """An event type we do not handle: acknowledged, counted, nothing else. Commits."""
    _claim(event, None, "ignored")
    db.session.commit()


def _order_id_for(event: PaymentEvent) -> uuid.UUID | None:
    if event.provider_ref:
        found = db.session.scalar(
            select(Payment.order_id).where(Payment.provider_ref == event.provider_ref)
        )
        if found is not None:
            return found
    try:
        return uuid.UUID(event.order_id) if event.order_id else None
    except ValueError:
        return None


def apply(event: PaymentEvent) -> tuple[str, list[int]]:
    """Apply one event (the payments task). Returns its outcome (applied, ignored,
    duplicate) and the outbox ids to send after commit. Commits."""
    order_id = _order_id_for(event)
    if order_id is None:
        outcome = "ignored" if _claim(event, None, "ignored") else "duplicate"
        db.session.commit()
        return outcome, []
    order = placement.lock_order(order_id)
    payment = order.payment
    current = payment is not None and payment.provider_ref == event.provider_ref
    # Forward only: an event about an earlier attempt (another card) changes nothing.
    outbox_ids = _HANDLERS[event.type](order, event) if current else None
    outcome = "applied" if outbox_ids is not None else "ignored"
    if not _claim(event, order.id, outcome):
        db.session.rollback()
        return "duplicate", []
    db.session.commit()
    return outcome, outbox_ids or []


def _capture_step(order):
    return next(step for step in order.steps if step.step == "capture_payment")


def _authorised(order, event: PaymentEvent) -> list[int] | None:
    """The shopper authenticated: resume the order from confirmation."""
    payment = order.payment
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return None
    state = payments.provider().retrieve(payment.provider_ref)
    if state.status not in payments.HELD:
        return None
    payments.apply(payment, state)
    payment.next_action = None
    step = _capture_step(order)
    step.status = StepStatus.SUCCEEDED
    step.attempts += 1
    step.finished_at = _now()
    step.error = None
    order.status = OrderStatus.PENDING
    order.status_reason = None
    if review.hold_if_risky(order):  # Radar: staff approve (the flow goes on) or reject
        return []
    message = outbox.record(outbox.PAYMENT_RESUMED, {"order_id": str(order.id)})
    db.session.flush()
    return [message.id]


def _failed(order, event: PaymentEvent) -> list[int] | None:
    """Authentication failed or the card was refused after all."""
    payment = order.payment
    if order.status not in WAITING or payment.status not in (
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.PENDING,
    ):
        return None
    state = payments.provider().retrieve(payment.provider_ref)
    if state.status != PaymentStatus.FAILED:
        return None
    payments.apply(payment, state)
    return [placement.decline_payment(order, _capture_step(order), _now())]


def _canceled(order, event: PaymentEvent) -> list[int] | None:
    payment = order.payment
    if payment.status in (PaymentStatus.VOIDED, PaymentStatus.CAPTURED):
        return None
    state = payments.provider().retrieve(payment.provider_ref)
    if state.status != PaymentStatus.VOIDED:
        return None
    payment.status = PaymentStatus.VOIDED.value
    if order.status not in WAITING:
        return []
    placement.inventory.release(order.id, reason="payment_failed")
    step = _capture_step(order)
    step.status = StepStatus.FAILED
    step.finished_at = _now()
    step.error = payments.step_error("payment_canceled", "The payment was cancelled.")
    email = placement.fail_order(order, OrderStatus.CANCELLED, "payment_canceled", "cancelled")
    return [email]


def _refunded(order, event: PaymentEvent) -> list[int] | None:
    """A refund made at the provider (its dashboard) shows on the order."""
    payment = order.payment
    state = payments.provider().retrieve(payment.provider_ref)
    if state.amount_refunded <= payment.refunded_cents:
        return None
    payment.refunded_cents = min(state.amount_refunded, payment.amount_cents)
    full = payment.refunded_cents >= payment.amount_cents
    payment.status = (PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED).value
    if full and order.status in placement.CONFIRMED_OR_LATER:
        order.status = OrderStatus.REFUNDED
        order.status_reason = "refunded_at_provider"
    return []


def _disputed(order, event: PaymentEvent) -> list[int] | None:
    if order.status_reason == "disputed":
        return None
    order.status_reason = "disputed"
    log.warning("payment of order %s disputed (%s)", order.id, event.event_id)
    return []


_HANDLERS = {
    "payment_intent.amount_capturable_updated": _authorised,
    "payment_intent.succeeded": _authorised,
    "payment_intent.payment_failed": _failed,
    "payment_intent.canceled": _canceled,
    "charge.refunded": _refunded,
    "charge.dispute.created": _disputed,
}


def mail_staff_about_dispute(event: PaymentEvent) -> int:
    """Staff are mailed once per dispute (the key names it; a retried task mails nobody
    twice). Returns how many were mailed."""
    from models import Order
    from models.orders import order_number
    from services.notifications import staff

    order_id = _order_id_for(event)
    order = db.session.get(Order, order_id) if order_id else None
    if order is None:
        return 0
    number = order_number(order.number) if order.number else str(order.id)
    amount = f"{order.total_cents / 100:.2f} {order.currency}"
    dispute_id = event.details.get("object_id") or event.event_id
    return staff.mail_payment_dispute(order.id, number, amount, dispute_id)
