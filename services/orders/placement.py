"""The steps of order placement (SPEC section 5), each one database transaction, each
idempotent: it locks the order, re-reads its step row and does nothing if the step is done.

Every step function returns a StepResult telling the task whether the chain goes on and
which outbox messages (emails) to send now that the transaction has committed."""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    Cart,
    CartStatus,
    Order,
    OrderStatus,
    OrderStep,
    Payment,
    Shipment,
    StepStatus,
    db,
)
from services import outbox, payments
from services.catalog import cache as catalog_cache
from services.errors import NotFound
from services.inventory import stock as inventory
from services.orders import promotions
from services.search import freshness as search_freshness

log = logging.getLogger(__name__)

FINISHED_STEP = (StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.FAILED)
# Orders past confirmation: the steps after confirm_order still have work to do.
CONFIRMED_OR_LATER = (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


class OrderNotFound(NotFound):
    """No such order."""

    error = "order_not_found"


class Outcome(enum.StrEnum):
    CONTINUE = "continue"
    STOP = "stop"


@dataclass
class StepResult:
    outcome: Outcome
    outbox_ids: list[int] = field(default_factory=list)
    # What the report logged once the step committed needs: an operator reading a stop, the
    # confirmation (when it happened after checkout).
    detail: dict = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def lock_order(order_id: uuid.UUID, *, lines: bool = False, payment: bool = True) -> Order:
    """The order row locked, with its steps and payment as committed now; its lines with it
    when ``lines`` (else loaded on first use).

    Two statements on purpose: when ``FOR UPDATE`` has to wait for another transaction,
    PostgreSQL re-reads only the locked row, so rows joined in the same statement (steps,
    payment) could predate the commit we waited for. Read after the lock is held, in a new
    READ COMMITTED snapshot, they cannot. Lines never change after checkout, so they may
    come with the lock. No statement loads steps x lines (that product cost more ORM rows
    than the rest of the step); a step that needs neither lines nor payment skips them."""
    query = select(Order).where(Order.id == order_id).with_for_update(of=Order)
    if lines:
        query = query.options(joinedload(Order.lines))
    # The locked read wins over rows this session loaded before the lock.
    order = (
        db.session.scalars(query.execution_options(populate_existing=True)).unique().one_or_none()
    )
    if order is None:
        raise OrderNotFound()
    if payment:
        rows = db.session.execute(
            select(OrderStep, Payment)
            .outerjoin(Payment, Payment.order_id == OrderStep.order_id)
            .where(OrderStep.order_id == order_id)
            .order_by(OrderStep.position)
            .execution_options(populate_existing=True)
        ).all()
        steps = [row[0] for row in rows]
        set_committed_value(order, "payment", rows[0][1] if rows else _payment_row(order_id))
    else:
        steps = db.session.scalars(
            select(OrderStep)
            .where(OrderStep.order_id == order_id)
            .order_by(OrderStep.position)
            .execution_options(populate_existing=True)
        ).all()
    set_committed_value(order, "steps", list(steps))
    return order


def _payment_row(order_id: uuid.UUID) -> Payment | None:
    # Only for an order without steps (none placed by checkout is).
    return db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _step(order: Order, name: str) -> OrderStep:
    return next(step for step in order.steps if step.step == name)


def _finish(step: OrderStep, status: StepStatus, started: datetime, error: str | None = None):
    step.status = status
    step.attempts += 1
    step.started_at = started
    step.finished_at = _now()
    step.error = error


def skip_open_steps(order: Order) -> None:
    for step in order.steps:
        if step.status in (StepStatus.PENDING, StepStatus.RUNNING):
            step.status = StepStatus.SKIPPED
            step.finished_at = _now()


def unlock_cart(order: Order) -> None:
    if order.cart_id is None:
        return
    cart = db.session.get(Cart, order.cart_id, with_for_update=True)
    if cart is not None and cart.status == CartStatus.LOCKED:
        cart.status = CartStatus.OPEN
        cart.updated_at = _now()


def fail_order(order: Order, status: OrderStatus, reason: str, email_event: str) -> int:
    """Compensation shared by every failure exit: promotion given back, cart unlocked, open
    steps skipped, shopper told. Returns the outbox id of the email. Does not commit."""
    order.status = status
    order.status_reason = reason
    promotions.give_back(order.id)
    unlock_cart(order)
    skip_open_steps(order)
    return email_later(order.id, email_event)


def email_later(order_id: uuid.UUID, event: str) -> int:
    message = outbox.record(outbox.ORDER_EMAIL, {"order_id": str(order_id), "event": event})
    db.session.flush()
    return message.id


def run_step(
    order_id: uuid.UUID,
    name: str,
    work: Callable[[Order, OrderStep], StepResult],
    *,
    lines: bool = False,
    payment: bool = True,
):
    """Run ``work`` on the locked order in one transaction (``lines`` and ``payment``: what
    ``work`` reads, see ``lock_order``). A failure (database or network) is rolled back,
    recorded on the step (attempts, error) and re-raised for the retry."""
    started = _now()
    try:
        order = lock_order(order_id, lines=lines, payment=payment)
        result = work(order, _step(order, name), started)
        db.session.commit()
        return result
    except OrderNotFound:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        record_failed_attempt(order_id, name, started, exc)
        raise


def record_failed_attempt(order_id, name, started, exc) -> None:
    """The attempt and its error on the step, in its own transaction, unless the step finished
    meanwhile (a step skipped by a cancel or an expiry stays skipped)."""
    try:
        db.session.execute(
            update(OrderStep)
            .where(
                OrderStep.order_id == order_id,
                OrderStep.step == name,
                OrderStep.status.not_in(FINISHED_STEP),
            )
            .values(
                status=StepStatus.RUNNING,
                attempts=OrderStep.attempts + 1,
                started_at=started,
                error=payments.step_error(type(exc).__name__, str(exc)[:1500]),
            )
        )
        db.session.commit()
    except Exception:  # the database itself may be what failed
        db.session.rollback()
        log.warning("could not record the failed attempt of %s for %s", name, order_id)


def _reserve(order: Order, step: OrderStep, started: datetime) -> StepResult:
    if step.status in FINISHED_STEP:
        return StepResult(Outcome.CONTINUE if order.status == OrderStatus.PENDING else Outcome.STOP)
    if order.status != OrderStatus.PENDING:
        skip_open_steps(order)
        return StepResult(Outcome.STOP)
    lines = [(line.book_id, line.quantity) for line in order.lines]
    try:
        with db.session.begin_nested():
            inventory.reserve(order.id, lines, order.payment_deadline)
    except inventory.InsufficientStock as exc:
        error = payments.step_error("insufficient_stock", exc.message, **exc.details)
        _finish(step, StepStatus.FAILED, started, error)
        email = fail_order(order, OrderStatus.REJECTED, "insufficient_stock", "rejected")
        return StepResult(Outcome.STOP, [email], {"short": exc.items})
    _finish(step, StepStatus.SUCCEEDED, started)
    return StepResult(Outcome.CONTINUE)


def reserve_stock(order_id: uuid.UUID) -> StepResult:
    """Hold every line's stock (all or nothing) or reject the order."""
    result = run_step(order_id, "reserve_stock", _reserve, lines=True, payment=False)
    catalog_cache.stock_changed()
    return result


def decline_payment(order: Order, step: OrderStep, started: datetime) -> int:
    """The card was refused: the step fails with the provider's codes, stock is released,
    the order is payment_failed. Returns the email's outbox id. Does not commit."""
    payment = order.payment
    _finish(
        step,
        StepStatus.FAILED,
        started,
        payments.step_error(
            "payment_declined",
            payment.error_message or "Your card was declined.",
            code=payment.error,
            decline_code=payment.decline_code,
        ),
    )
    inventory.release(order.id, reason="payment_failed")
    reason = (
        "authentication_failed"
        if payment.error == "payment_intent_authentication_failure"
        else "payment_declined"
    )
    return fail_order(order, OrderStatus.PAYMENT_FAILED, reason, "payment_failed")


def capture_payment(order_id: uuid.UUID) -> StepResult:
    """Authorise the order's total (captured at confirmation); a declined card releases the
    stock and fails the order."""
    # Recorded, called and applied in separate transactions: the order row is not locked
    # while the provider answers (services/payments/authorisation.py).
    from services.payments import authorisation

    result = authorisation.run(order_id)
    if result.outbox_ids:
        catalog_cache.stock_changed()
    return result


def _confirm(order: Order, step: OrderStep, started: datetime) -> StepResult:
    if step.status in FINISHED_STEP:
        return StepResult(Outcome.CONTINUE if order.status in CONFIRMED_OR_LATER else Outcome.STOP)
    if order.status != OrderStatus.PENDING or order.payment is None:
        return StepResult(Outcome.STOP)
    if order.payment.status not in payments.HELD:
        return StepResult(Outcome.STOP)
    sold = db.session.begin_nested()
    try:
        inventory.commit(order.id)
    except inventory.ReservationNotHeld:
        sold.rollback()
        # The hold lapsed (deadline passed) before confirmation: drop or give back the money.
        payments.settle_cancelled(order)
        _finish(
            step,
            StepStatus.FAILED,
            started,
            payments.step_error("reservation_not_held", "The stock hold lapsed."),
        )
        email = fail_order(order, OrderStatus.CANCELLED, "reservation_expired", "cancelled")
        return StepResult(Outcome.STOP, [email])
    payment = payments.capture(order)
    if payment.status != payments.PaymentStatus.CAPTURED:
        # The authorisation is gone (expired or cancelled at the provider): nothing was sold.
        sold.rollback()
        return StepResult(Outcome.STOP, [decline_payment(order, step, started)])
    sold.commit()
    order.status = OrderStatus.CONFIRMED
    order.status_reason = None
    if order.cart_id is not None:
        db.session.execute(
            update(Cart).where(Cart.id == order.cart_id).values(status=CartStatus.CONVERTED)
        )
    _finish(step, StepStatus.SUCCEEDED, started)
    # For the confirmation's report once committed (outcomes.after_step): no read back.
    return StepResult(
        Outcome.CONTINUE, detail={"created_at": order.created_at, "number": order.number}
    )


def confirm_order(order_id: uuid.UUID) -> StepResult:
    """Held stock becomes sold; the order is confirmed and its cart converted."""
    result = run_step(order_id, "confirm_order", _confirm, lines=True)
    catalog_cache.stock_changed()
    return result


def _after_confirmation(work: Callable[[Order], None]):
    def step_work(order: Order, step: OrderStep, started: datetime) -> StepResult:
        if step.status in FINISHED_STEP:
            return StepResult(Outcome.CONTINUE)
        if order.status not in CONFIRMED_OR_LATER:
            return StepResult(Outcome.STOP)
        work(order)
        _finish(step, StepStatus.SUCCEEDED, started)
        return StepResult(Outcome.CONTINUE)

    return step_work


def _create_shipment(order: Order) -> None:
    if order.shipment is None:
        db.session.add(
            Shipment(
                order_id=order.id,
                status="requested",
                events=[{"status": "requested", "at": _now().isoformat()}],
            )
        )


def request_shipment(order_id: uuid.UUID, carrier=None) -> StepResult:
    """Create the shipment with the carrier adapter (``services.shipping``): label and
    tracking number, once per order. Without an adapter, a shipment row staff complete."""
    if carrier is None:
        return run_step(
            order_id, "request_shipment", _after_confirmation(_create_shipment), payment=False
        )
    from services.shipping.tracking import label_shipment

    def _label(order: Order) -> None:
        label_shipment(order, carrier)

    return run_step(order_id, "request_shipment", _after_confirmation(_label), payment=False)


def _record_reindex(order: Order) -> None:
    # With an outbox message that wakes the search queue's debounced batch reindexer.
    search_freshness.book_changed(
        sorted(line.book_id for line in order.lines),
        reason=f"{search_freshness.ORDER_REASON}{order.id}",
    )


def reindex_books(order_id: uuid.UUID) -> StepResult:
    """Record the ordered books for reindexing (sales counts changed); the search queue's
    batch rebuilds their documents (the outbox message to send is in the result)."""
    result = run_step(
        order_id,
        "reindex_books",
        _after_confirmation(_record_reindex),
        lines=True,
        payment=False,
    )
    result.outbox_ids = [*result.outbox_ids, *search_freshness.take_recorded()]
    return result


def confirmation_email_step(order_id: uuid.UUID, send: Callable[[uuid.UUID], object]):
    """The chain's send_order_email step. The email is sent outside the order lock (the
    notifications service commits on its own and dedupes by key); the step is then marked."""
    started = _now()
    # The order (send reads it from the session's identity map) and this step's status in
    # one row; a guest's email loads its lines and shipment when it renders them.
    row = db.session.execute(
        select(Order, OrderStep.status)
        .outerjoin(
            OrderStep, (OrderStep.order_id == Order.id) & (OrderStep.step == "send_order_email")
        )
        .where(Order.id == order_id)
    ).one_or_none()
    if row is None:
        raise OrderNotFound()
    order, step_status = row
    if step_status in FINISHED_STEP:
        db.session.commit()
        return StepResult(Outcome.CONTINUE)
    if order.status not in CONFIRMED_OR_LATER:
        db.session.commit()
        return StepResult(Outcome.STOP)
    db.session.commit()
    try:
        send(order_id)
    except Exception as exc:
        db.session.rollback()
        record_failed_attempt(order_id, "send_order_email", started, exc)
        raise
    db.session.execute(
        update(OrderStep)
        .where(
            OrderStep.order_id == order_id,
            OrderStep.step == "send_order_email",
            OrderStep.status.not_in(FINISHED_STEP),
        )
        .values(
            status=StepStatus.SUCCEEDED,
            attempts=OrderStep.attempts + 1,
            started_at=started,
            finished_at=_now(),
            error=None,
        )
    )
    db.session.commit()
    return StepResult(Outcome.CONTINUE)
