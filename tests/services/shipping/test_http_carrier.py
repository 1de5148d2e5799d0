"""The EasyPost-style http carrier against a local carrier API peer: labels once per order,
tracks, verifies its webhooks; the webhook endpoint takes it when configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from models import Order, db
from services.orders import placement
from services.shipping import carriers
from services.shipping.carriers import InvalidWebhook, UnknownCarrier
from services.shipping.http_carrier import HttpCarrier
from tests.factories import auth_headers, make_user
from tests.support.carrier_peer import API_KEY, CarrierPeer
from tests.support.shipping import labelled_order

SECRET = "whsec-test"


def _settings(app, peer, key=API_KEY) -> dict:
    return {
        **app.config,
        "CARRIER_API_BASE": peer.url,
        "CARRIER_API_KEY": key,
        "CARRIER_WEBHOOK_SECRET": SECRET,
    }


def _signed(body: bytes) -> dict:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Webhook-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def test_labels_once_per_order_tracks_and_verifies_webhooks(client, app):
    headers = auth_headers(app, make_user())
    with CarrierPeer() as peer:
        carrier = carriers.build("http", _settings(app, peer))
        order_id, number = labelled_order(client, app, headers, adapter=carrier)
        placement.request_shipment(uuid.UUID(order_id), carrier=carrier)  # a retried step
        label_again = carrier.create_shipment(db.session.get(Order, uuid.UUID(order_id)))
        peer.trackers[number].append(
            {
                "id": "evt_1",
                "status": "in_transit",
                "occurred_at": "2026-12-02T08:00:00+00:00",
                "location": "Hub",
                "description": "Departed",
            }
        )
        tracked = carrier.track(number)
        wrong_key = carriers.build("http", _settings(app, peer, key="nope"))
        with pytest.raises(Exception) as refused:
            wrong_key.track(number)

    shipment = db.session.get(Order, uuid.UUID(order_id)).shipment
    assert (shipment.carrier, shipment.tracking_number) == ("http", "HTTP000001")
    assert label_again.tracking_number == "HTTP000001" and len(peer.labels) == 1
    assert [(event.event_id, event.status) for event in tracked] == [("evt_1", "in_transit")]
    assert "401" in str(refused.value)
    body = json.dumps({"events": [{**peer.trackers[number][0]}]}).encode()
    body = body.replace(b'"id": "evt_1"', b'"id": "evt_1", "tracking_number": "HTTP000001"')
    assert carrier.verify_webhook(_signed(body), body)[0].tracking_number == "HTTP000001"
    with pytest.raises(InvalidWebhook):
        carrier.verify_webhook({"X-Webhook-Signature": "sha256=00"}, body)


def test_an_unconfigured_http_carrier_is_unknown(client, app):
    with pytest.raises(UnknownCarrier):
        HttpCarrier.from_settings(app.config)
    response = client.post("/api/v1/webhooks/shipping/http", data=b"{}")
    assert response.status_code == 404 and response.get_json()["error"] == "unknown_carrier"
