"""POST /webhooks/stripe: the signature is checked before anything happens."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, ProcessedPaymentEvent, db
from tests.support.stripe import WEBHOOK_SECRET, bound_settings, event_for, post_event, signed

URL = "/api/v1/webhooks/stripe"


@pytest.fixture(autouse=True)
def webhook_secret(app):
    with bound_settings({**app.config, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}):
        yield


def _side_effects() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(select(func.count()).select_from(ProcessedPaymentEvent)),
    )


def _capturable():
    return event_for(
        "payment_intent.amount_capturable_updated", {"id": "pi_x", "object": "payment_intent"}
    )


def test_a_missing_signature_is_a_400_with_no_side_effect(client):
    response = client.post(URL, json=_capturable())

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_signature"
    assert _side_effects() == (0, 0)


def test_a_wrong_signature_is_a_400(client):
    response = post_event(client, _capturable(), secret="whsec_someone_else")

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_signature"
    assert _side_effects() == (0, 0)


def test_a_stale_signature_is_a_400(client):
    response = post_event(client, _capturable(), at=int(time.time()) - 6 * 60)

    assert response.status_code == 400
    assert _side_effects() == (0, 0)


def test_a_tampered_body_is_a_400(client):
    payload, header = signed(_capturable())
    tampered = payload.replace(b"pi_x", b"pi_y")

    response = client.post(URL, data=tampered, headers={"Stripe-Signature": header})

    assert response.status_code == 400
    assert _side_effects() == (0, 0)


def test_an_unknown_event_type_is_acknowledged_ignored_and_counted_once(client):
    event = event_for("customer.created", {"id": "cus_1", "object": "customer"})

    first = post_event(client, event)
    again = post_event(client, event)

    assert (first.status_code, first.get_json()["outcome"]) == (200, "ignored")
    assert (again.status_code, again.get_json()["outcome"]) == (200, "duplicate")
    row = db.session.get(ProcessedPaymentEvent, event["id"])
    assert (row.type, row.outcome) == ("customer.created", "ignored")
    assert _side_effects() == (0, 1)
