"""The simulated carrier drives a real order to delivered: the chain labels the shipment, the
worker's simulated carrier POSTs signed webhooks to the API over HTTP, and the worker applies
them. And the stale-shipment poll catches up a shipment whose webhooks never came."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import (
    Notification,
    NotificationDelivery,
    NotificationEvent,
    Order,
    Shipment,
    ShipmentEvent,
    db,
)
from services.shipping.simulated import SimulatedCarrier
from tasks.shipping import poll_stale_shipments, simulate_carrier
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.shipping import WEBHOOK, live_api

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _shipment(order_id) -> Shipment | None:
    db.session.expire_all()
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == uuid.UUID(order_id)))
    db.session.commit()
    return shipment


def _mails(order_id) -> list[str]:
    db.session.expire_all()
    keys = db.session.scalars(
        select(Notification.dedupe_key).where(
            Notification.dedupe_key.like(f"order:{order_id}:%"),
            Notification.status == "sent",
        )
    ).all()
    db.session.commit()
    return sorted(key.rsplit(":", 1)[1] for key in keys)


def _confirmed_and_labelled(shop, app):
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(on_hand=3))
    order = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])
    assert order["status"] == "confirmed", order["timeline"]
    shipment = wait_until(lambda: (s := _shipment(order["id"])) and s.tracking_number and s)
    assert shipment, "request_shipment did not label the shipment"
    return headers, order["id"], shipment.tracking_number


def test_the_simulated_carrier_drives_an_order_to_delivered(shop, app):
    headers, order_id, number = _confirmed_and_labelled(shop, app)
    journey = SimulatedCarrier.from_settings(app.config).journey(number)

    with live_api(app) as base:
        for _ in range(len(journey) + 2):
            # One step per run of the beat job (the step interval set to 0 for the test).
            simulate_carrier.apply_async(
                kwargs={"webhook_url": base + WEBHOOK, "step_seconds": 0}, queue="shipping"
            ).get(timeout=30)
        final = wait_for_order(shop, headers, order_id, statuses={"delivered"})

    assert final["status"] == "delivered"
    body = shop.get(f"/api/v1/orders/{order_id}/tracking", headers=headers).get_json()
    assert [entry["status"] for entry in body["events"]] == list(journey)
    assert body["status"] == "delivered" and body["carrier"] == "simulated"
    stamps = [entry["at"] for entry in body["events"]]
    assert stamps == sorted(stamps)
    expected = {"confirmed", "shipped", "out_for_delivery", "delivered"}
    if "exception" in journey:
        expected.add("shipment_exception")
    assert wait_until(lambda: set(_mails(order_id)) == expected), _mails(order_id)
    # Every shopper notification goes through the dispatcher: the confirmation too.
    told = {"order_confirmed", "order_shipped", "out_for_delivery", "order_delivered"}
    if "exception" in journey:
        told.add("shipment_exception")
    inbox = wait_until(lambda: _inbox(headers, shop, len(told)))
    assert {item["event"] for item in inbox} == told
    # Each channel settles its own row: wait until none is still queued.
    log = wait_until(
        lambda: (
            (rows := _delivery_log(order_id))
            and len(rows) == 4 * len(told)
            and all(status != "queued" for *_, status in rows)
            and rows
        )
    )
    assert {(event, channel) for event, channel, status in log if status == "sent"} == {
        (event, channel) for event in told for channel in ("email", "in_app")
    }
    assert {status for _, channel, status in log if channel in ("sms", "web_push")} == {"skipped"}


def _inbox(headers, shop, count):
    items = shop.get("/api/v1/me/notifications", headers=headers).get_json()["items"]
    return items if len(items) >= count else None


def _delivery_log(order_id) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(NotificationEvent.event, NotificationDelivery.channel, NotificationDelivery.status)
        .join(NotificationDelivery, NotificationDelivery.event_id == NotificationEvent.id)
        .where(NotificationEvent.context["order_id"].astext == order_id)
    ).all()
    db.session.commit()
    return [tuple(row) for row in rows]


def test_the_stale_poll_catches_up_a_shipment_whose_webhooks_were_lost(shop, app):
    headers, order_id, number = _confirmed_and_labelled(shop, app)
    # The label was made two days ago and the carrier's webhooks never reached us.
    old = datetime.now(UTC) - timedelta(days=2)
    old_number = f"SIM-{int(old.timestamp())}-{number.rsplit('-', 1)[1]}"
    db.session.execute(
        update(Shipment)
        .where(Shipment.order_id == uuid.UUID(order_id))
        .values(tracking_number=old_number, last_event_at=old)
    )
    db.session.commit()
    journey = SimulatedCarrier.from_settings(app.config).journey(old_number)

    polled = poll_stale_shipments.apply_async(queue="shipping").get(timeout=30)
    final = wait_for_order(shop, headers, order_id, statuses={"delivered"})

    assert polled == 1
    assert final["status"] == "delivered"
    sources = db.session.scalars(
        select(ShipmentEvent.source).where(ShipmentEvent.event_id.like(f"{old_number}-%"))
    ).all()
    assert sources == ["poll"] * len(journey)
    assert db.session.get(Order, uuid.UUID(order_id)).shipment.status == "delivered"
