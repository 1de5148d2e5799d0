"""Tracking: carrier events recorded once, applied to the shipment in carrier-time order,
and the order following its shipment (first movement -> shipped, delivered -> delivered,
exception -> visible on the order and staff alerted)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from models import Order, OrderStatus, Shipment, ShipmentEvent, User, db
from services import outbox
from services.notifications import events as notifications
from services.orders.placement import email_later, lock_order
from services.shipping.carriers import CarrierEvent

# Carrier statuses that mean the parcel has left us.
MOVING = ("in_transit", "out_for_delivery", "delivered")
# The notification event for each status the shipment moves to.
SHOPPER_EVENT = {
    "out_for_delivery": "out_for_delivery",
    "delivered": "order_delivered",
    "exception": "shipment_exception",
}
EXCEPTION_REASON = "shipment_exception"


def _now() -> datetime:
    return datetime.now(UTC)


def record_events(carrier: str, events: Sequence[CarrierEvent], source: str) -> dict:
    """Record each event once (by the carrier's event id) for the shipment with its tracking
    number, and queue the application of the new ones. Commits.

    Returns ``{"received", "recorded", "unknown", "outbox_ids"}``; unknown tracking numbers are
    counted, not recorded (they are not ours, or not yet)."""
    numbers = {event.tracking_number for event in events}
    shipments = dict(
        db.session.execute(
            select(Shipment.tracking_number, Shipment.id).where(
                Shipment.carrier == carrier, Shipment.tracking_number.in_(numbers)
            )
        ).all()
    )
    recorded, unknown, touched = 0, 0, set()
    for event in events:
        shipment_id = shipments.get(event.tracking_number)
        if shipment_id is None:
            unknown += 1
            continue
        inserted = db.session.execute(
            insert(ShipmentEvent)
            .values(
                shipment_id=shipment_id,
                carrier=carrier,
                event_id=event.event_id,
                status=event.status,
                occurred_at=event.occurred_at,
                location=(event.location or None) and event.location[:200],
                description=(event.description or None) and event.description[:500],
                source=source,
            )
            .on_conflict_do_nothing(constraint="uq_shipment_events_carrier_event")
            .returning(ShipmentEvent.id)
        ).scalar()
        if inserted is not None:
            recorded += 1
            touched.add(shipment_id)
    outbox_ids = []
    for shipment_id in sorted(touched):
        db.session.execute(
            Shipment.__table__.update()
            .where(Shipment.id == shipment_id)
            .values(last_event_at=func.now())
        )
        message = outbox.record(outbox.SHIPMENT_EVENTS, {"shipment_id": str(shipment_id)})
        db.session.flush()
        outbox_ids.append(message.id)
    db.session.commit()
    return {
        "received": len(events),
        "recorded": recorded,
        "unknown": unknown,
        "outbox_ids": outbox_ids,
    }


def apply_events(shipment_id: uuid.UUID) -> list[int]:
    """Apply the shipment's unapplied events in carrier-timestamp order. An event older than
    the one that set the current status (or any event after delivery) is kept but moves
    nothing. Idempotent. Commits; returns the outbox ids to send."""
    order_id = db.session.scalar(select(Shipment.order_id).where(Shipment.id == shipment_id))
    if order_id is None:
        db.session.rollback()
        return []
    order = lock_order(order_id)  # the order's lock serialises us with the chain and staff
    shipment = db.session.scalars(
        select(Shipment).where(Shipment.id == shipment_id).with_for_update()
    ).one()
    pending = list(
        db.session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.shipment_id == shipment_id, ShipmentEvent.applied_at.is_(None))
            .order_by(ShipmentEvent.occurred_at, ShipmentEvent.id)
        )
    )
    moved: list[ShipmentEvent] = []
    for event in pending:
        event.applied_at = _now()
        late = shipment.status_at is not None and event.occurred_at < shipment.status_at
        event.moved_status = not late and shipment.status != "delivered"
        if event.moved_status:
            _move(shipment, event)
            moved.append(event)
    outbox_ids = _follow(order, shipment, moved)
    db.session.commit()
    return outbox_ids


def _move(shipment: Shipment, event: ShipmentEvent) -> None:
    shipment.status = event.status
    shipment.status_at = event.occurred_at
    shipment.events = [
        *shipment.events,
        {
            "status": event.status,
            "at": event.occurred_at.isoformat(),
            "location": event.location,
            "description": event.description,
            "source": event.carrier,
        },
    ]


def _follow(order: Order, shipment: Shipment, moved: Iterable[ShipmentEvent]) -> list[int]:
    """The order follows its shipment; returns the outbox ids of the messages it needs."""
    outbox_ids = []
    for event in moved:
        if event.status in MOVING and order.status == OrderStatus.CONFIRMED:
            order.status = OrderStatus.SHIPPED
            outbox_ids += _tell(order, "order_shipped", "shipped")
        if event.status == "delivered" and order.status == OrderStatus.SHIPPED:
            order.status = OrderStatus.DELIVERED
        if event.status == "exception":
            # The carrier's words are in the shipment's events (status_reason is short).
            order.status_reason = EXCEPTION_REASON
            message = outbox.record(outbox.STAFF_ALERT, {"shipment_event_id": event.id})
            db.session.flush()
            outbox_ids.append(message.id)
        elif (order.status_reason or "").startswith(EXCEPTION_REASON):
            order.status_reason = None  # the parcel moves again
        if event.status in SHOPPER_EVENT:
            extra = {"reason": event.description} if event.status == "exception" else {}
            outbox_ids += _tell(order, SHOPPER_EVENT[event.status], f"{event.id}", extra)
    return outbox_ids


def _tell(order: Order, event: str, key: str, extra: dict | None = None) -> list[int]:
    """The shopper's notification (every channel they chose), once per key. A guest order
    (no account) gets the order e-mail only."""
    if order.user_id is None:
        return [email_later(order.id, notifications.EVENTS[event].order_email)]
    outbox_id = notifications.notify(
        event,
        order.user_id,
        {"order_id": str(order.id), **(extra or {})},
        f"order:{order.id}:{event}:{key}",
    )
    return [outbox_id] if outbox_id is not None else []


def label_shipment(order: Order, carrier) -> None:
    """The ``request_shipment`` step's work: a shipment with the carrier's label, once per
    order (a shipment that already has a tracking number is left as it is)."""
    shipment = order.shipment
    if shipment is not None and shipment.tracking_number:
        return
    label = carrier.create_shipment(order)
    if shipment is None:
        shipment = Shipment(order_id=order.id, status="requested", events=[])
        db.session.add(shipment)
        order.shipment = shipment
    shipment.carrier = label.carrier
    shipment.tracking_number = label.tracking_number
    shipment.label_url = label.label_url
    shipment.estimated_delivery = label.estimated_delivery
    shipment.last_event_at = _now()
    shipment.events = [
        *shipment.events,
        {"status": "requested", "at": _now().isoformat(), "source": "bookstore"},
    ]


def tracking_view(order: Order) -> dict:
    """GET /orders/{id}/tracking: every recorded carrier event in carrier-time order (late
    ones too), and manual staff entries."""
    shipment = order.shipment
    if shipment is None:
        return {
            "carrier": None,
            "tracking_number": None,
            "status": None,
            "events": [],
            "estimated_delivery": None,
        }
    carrier_events = [
        {
            "status": event.status,
            "at": event.occurred_at,
            "location": event.location,
            "description": event.description,
        }
        for event in db.session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.shipment_id == shipment.id)
            .order_by(ShipmentEvent.occurred_at, ShipmentEvent.id)
        )
    ]
    manual = [
        {
            "status": entry["status"],
            "at": datetime.fromisoformat(entry["at"]),
            "location": None,
            "description": entry.get("description") or "Set by staff",
        }
        for entry in shipment.events
        if entry.get("source") == "staff"
    ]
    return {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "status": shipment.status,
        "events": sorted(carrier_events + manual, key=lambda entry: entry["at"]),
        "estimated_delivery": shipment.estimated_delivery,
    }


def stale_shipments(now: datetime, stale_hours: float, limit: int = 200) -> list[Shipment]:
    """Shipments on their way that no event touched for ``stale_hours``."""
    cutoff = now - timedelta(hours=stale_hours)
    return list(
        db.session.scalars(
            select(Shipment)
            .where(
                Shipment.status != "delivered",
                Shipment.tracking_number.is_not(None),
                Shipment.carrier.is_not(None),
                func.coalesce(Shipment.last_event_at, Shipment.created_at) < cutoff,
            )
            .order_by(func.coalesce(Shipment.last_event_at, Shipment.created_at))
            .limit(limit)
        )
    )


def exception_alert_context(shipment_event_id: int) -> tuple[dict, str] | None:
    """What the staff alert about a shipment exception says, and its dedupe stem."""
    row = db.session.execute(
        select(ShipmentEvent, Shipment.order_id, Shipment.tracking_number, Order.user_id)
        .join(Shipment, Shipment.id == ShipmentEvent.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(ShipmentEvent.id == shipment_event_id)
    ).one_or_none()
    if row is None:
        return None
    event, order_id, tracking_number, user_id = row
    customer = db.session.get(User, user_id)
    return (
        {
            "order_id": str(order_id),
            "carrier": event.carrier,
            "tracking_number": tracking_number,
            "description": event.description,
            "location": event.location,
            "occurred_at": event.occurred_at.isoformat(),
            "customer_email": customer.email if customer else None,
        },
        f"shipment-exception:{event.carrier}:{event.event_id}",
    )
