"""CARRIER_SIMULATION=on: the simulated carrier moves each of its open shipments one step per
``step_seconds`` by POSTing a signed webhook to our own endpoint, as a real carrier would."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models import Shipment, ShipmentEvent, db
from services.shipping.simulated import SimulatedCarrier

log = logging.getLogger(__name__)

Post = Callable[[str, bytes, dict], int]


def http_post(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def advance(
    carrier: SimulatedCarrier,
    webhook_url: str,
    step_seconds: float,
    post: Post = http_post,
    limit: int = 200,
) -> int:
    """Send the next event of every open simulated shipment whose last step is at least
    ``step_seconds`` old. Returns how many webhooks were accepted (2xx)."""
    now = datetime.now(UTC)
    rows = db.session.execute(
        select(
            Shipment.tracking_number,
            func.count(ShipmentEvent.id),
            func.max(ShipmentEvent.received_at),
        )
        .outerjoin(
            ShipmentEvent,
            (ShipmentEvent.shipment_id == Shipment.id) & (ShipmentEvent.carrier == carrier.name),
        )
        .where(
            Shipment.carrier == carrier.name,
            Shipment.tracking_number.is_not(None),
            Shipment.status != "delivered",
        )
        .group_by(Shipment.id)
        .order_by(Shipment.created_at)
        .limit(limit)
    ).all()
    db.session.rollback()  # no transaction held while we call ourselves over HTTP
    sent = 0
    for tracking_number, done, last_at in rows:
        if done >= len(carrier.journey(tracking_number)):
            continue
        if last_at is not None and now - last_at < timedelta(seconds=step_seconds):
            continue
        body = carrier.body([carrier.event(tracking_number, done, datetime.now(UTC))])
        try:
            status = post(webhook_url, body, carrier.sign(body))
        except OSError as exc:
            log.warning("simulated webhook for %s not delivered: %s", tracking_number, exc)
            continue
        sent += 200 <= status < 300
    return sent
