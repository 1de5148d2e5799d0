"""Carrier webhooks: signature checked, each event recorded once, applied in carrier-time
order; the order follows its shipment; tracking endpoint; staff overrides audited."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from models import AuditLog, NotificationEvent, Order, OutboxMessage, Shipment, ShipmentEvent, db
from services import outbox
from services.shipping import tracking
from services.shipping.simulated import SimulatedCarrier
from tests.factories import auth_headers, make_user
from tests.support.shipping import WEBHOOK, event, labelled_order, post_events


def _apply(order_id: str) -> None:
    shipment_id = db.session.scalar(
        select(Shipment.id).where(Shipment.order_id == uuid.UUID(order_id))
    )
    tracking.apply_events(shipment_id)


def _order(order_id: str) -> Order:
    db.session.expire_all()
    return db.session.get(Order, uuid.UUID(order_id))


def _event_count(tracking_number: str) -> int:
    return db.session.scalar(
        select(func.count(ShipmentEvent.id))
        .join(Shipment, Shipment.id == ShipmentEvent.shipment_id)
        .where(Shipment.tracking_number == tracking_number)
    )


def test_request_shipment_labels_the_order_once(client, app):
    headers = auth_headers(app, make_user())
    order_id, tracking_number = labelled_order(client, app, headers)

    from services.orders import placement
    from tests.support.shipping import carrier

    placement.request_shipment(uuid.UUID(order_id), carrier=carrier(app))  # a retried step

    shipment = _order(order_id).shipment
    assert shipment.carrier == "simulated" and shipment.tracking_number == tracking_number
    assert tracking_number.startswith("SIM-") and shipment.label_url.endswith(".pdf")
    assert [entry["status"] for entry in shipment.events] == ["requested"]


def test_forged_and_unknown_carrier_webhooks_are_refused(client, app):
    headers = auth_headers(app, make_user())
    order_id, number = labelled_order(client, app, headers)
    forger = SimulatedCarrier("not-the-secret")
    good = SimulatedCarrier.from_settings(app.config)
    body = good.body([event(number, "in_transit", 5)])

    forged = post_events(client, app, [event(number, "in_transit", 5)], sign_with=forger)
    unsigned = client.post(WEBHOOK, data=body, headers={"Content-Type": "application/json"})
    replayed = client.post(WEBHOOK, data=body, headers=good.sign(body, timestamp=1_000_000))
    tampered_headers = good.sign(body)
    tampered = client.post(
        WEBHOOK, data=body.replace(b"in_transit", b"delivered"), headers=tampered_headers
    )
    unknown = client.post("/api/v1/webhooks/shipping/fedex", data=body, headers=good.sign(body))

    for response in (forged, unsigned, replayed, tampered):
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"] == "invalid_webhook"
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_carrier"
    assert _event_count(number) == 0
    assert _order(order_id).status == "confirmed"


def test_signed_but_malformed_event_fields_are_400_and_long_texts_are_cut(client, app):
    headers = auth_headers(app, make_user())
    _order_id, number = labelled_order(client, app, headers)
    good = SimulatedCarrier.from_settings(app.config)
    at = "2026-12-01T09:00:00+00:00"

    def send(**fields):
        item = {"id": f"hostile-{uuid.uuid4()}", "tracking_number": number, "status": "in_transit"}
        body = json.dumps({"events": [{**item, "occurred_at": at, **fields}]}).encode()
        return client.post(WEBHOOK, data=body, headers=good.sign(body))

    refused = [
        send(status=["in_transit"]),
        send(status=None),
        send(location={"city": "Paris"}),
        send(description=["scanned"]),
    ]
    long = send(location="L" * 5000, description="D" * 5000)

    assert [(r.status_code, r.get_json()["error"]) for r in refused] == [
        (400, "invalid_webhook")
    ] * 4
    assert long.status_code == 200 and long.get_json()["recorded"] == 1
    stored = db.session.scalars(
        select(ShipmentEvent).where(ShipmentEvent.location.is_not(None))
    ).all()
    assert [(len(e.location), len(e.description)) for e in stored if e.location[0] == "L"] == [
        (200, 500)
    ]


def test_a_duplicate_event_is_recorded_and_applied_once(client, app):
    headers = auth_headers(app, make_user())
    order_id, number = labelled_order(client, app, headers)
    moving = event(number, "in_transit", 5)

    first = post_events(client, app, [moving])
    again = post_events(client, app, [moving, moving])
    _apply(order_id)
    _apply(order_id)  # a redelivered task

    assert first.status_code == 200
    assert first.get_json() == {"received": 1, "recorded": 1, "unknown": 0}
    assert again.get_json() == {"received": 2, "recorded": 0, "unknown": 0}
    assert _event_count(number) == 1
    order = _order(order_id)
    assert order.status == "shipped"
    shipped_notices = db.session.scalar(
        select(func.count(NotificationEvent.id)).where(
            NotificationEvent.event == "order_shipped",
            NotificationEvent.context["order_id"].astext == order_id,
        )
    )
    assert shipped_notices == 1


def test_events_apply_in_carrier_time_order_and_late_ones_do_not_move_back(client, app):
    headers = auth_headers(app, make_user())
    order_id, number = labelled_order(client, app, headers)

    post_events(client, app, [event(number, "label_created", 0)])
    post_events(client, app, [event(number, "delivered", 30), event(number, "in_transit", 10)])
    _apply(order_id)
    late = post_events(client, app, [event(number, "out_for_delivery", 20)])
    _apply(order_id)

    assert late.get_json()["recorded"] == 1
    order = _order(order_id)
    assert order.status == "delivered"
    assert order.shipment.status == "delivered"
    body = client.get(f"/api/v1/orders/{order_id}/tracking", headers=headers).get_json()
    assert [entry["status"] for entry in body["events"]] == [
        "label_created",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert body["status"] == "delivered" and body["tracking_number"] == number
    moved = dict(
        db.session.execute(
            select(ShipmentEvent.status, ShipmentEvent.moved_status).where(
                ShipmentEvent.carrier == "simulated"
            )
        ).all()
    )
    assert moved == {
        "label_created": True,
        "in_transit": True,
        "delivered": True,
        "out_for_delivery": False,
    }


def test_an_exception_shows_on_the_order_and_alerts_staff(client, app):
    headers = auth_headers(app, make_user())
    order_id, number = labelled_order(client, app, headers)

    words = "Delivery exception: address could not be read, being relabelled at the hub"
    post_events(
        client,
        app,
        [event(number, "in_transit", 5), event(number, "exception", 9, description=words)],
    )
    _apply(order_id)
    stuck = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    post_events(client, app, [event(number, "in_transit", 30)])
    _apply(order_id)
    moving = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()

    assert stuck["shipment"]["status"] == "exception"
    assert stuck["status"] == "shipped"
    assert stuck["status_reason"] == "shipment_exception"
    assert stuck["shipment"]["events"][-1]["description"] == words
    told = db.session.scalar(
        select(NotificationEvent.context).where(NotificationEvent.event == "shipment_exception")
    )
    assert told == {"order_id": order_id, "reason": words}
    alerts = db.session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.kind == outbox.STAFF_ALERT)
    ).all()
    assert len(alerts) == 1
    assert moving["shipment"]["status"] == "in_transit" and moving["status_reason"] is None


def test_tracking_is_private_to_the_owner(client, app):
    owner = auth_headers(app, make_user())
    order_id, _number = labelled_order(client, app, owner)

    stranger = client.get(
        f"/api/v1/orders/{order_id}/tracking", headers=auth_headers(app, make_user())
    )
    mine = client.get(f"/api/v1/orders/{order_id}/tracking", headers=owner)

    assert stranger.status_code == 404
    assert mine.get_json()["carrier"] == "simulated"
    assert mine.get_json()["estimated_delivery"]


def test_staff_overrides_are_audited_and_older_carrier_events_do_not_undo_them(client, app):
    shopper = auth_headers(app, make_user())
    staff_user = make_user("staff")
    staff = auth_headers(app, staff_user)
    order_id, number = labelled_order(client, app, shopper)

    shipped = client.post(
        f"/api/v1/orders/{order_id}/ship",
        json={"carrier": "simulated", "tracking_number": number},
        headers=staff,
    )
    delivered = client.post(f"/api/v1/orders/{order_id}/deliver", headers=staff)
    post_events(client, app, [event(number, "in_transit", 5)])  # T0: before the override
    _apply(order_id)

    assert shipped.status_code == 200 and delivered.status_code == 200
    order = _order(order_id)
    assert order.status == "delivered" and order.shipment.status == "delivered"
    actions = db.session.execute(
        select(AuditLog.action, AuditLog.actor_id).where(AuditLog.entity_id == order_id)
    ).all()
    assert sorted(actions) == [
        ("order.deliver", staff_user.id),
        ("order.ship", staff_user.id),
    ]
