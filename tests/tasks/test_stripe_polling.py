"""The safety net behind Stripe's webhooks: payments that waited for minutes are settled from
the PaymentIntent's state at a real localstripe (no webhook sent), or expired; a real worker
runs what follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from models import Order, db
from services.payments import polling
from tasks.chains import send_recorded
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order
from tests.support.stripe import localstripe, stripe_worker  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

NOW_STUCK = timedelta(0)  # every waiting payment counts as stuck


@pytest.fixture
def shop(app, committed, stripe_worker):  # noqa: F811
    return app.test_client()


@pytest.fixture
def stripe_api(localstripe):  # noqa: F811
    import stripe

    from tests.support.stripe import API_KEY

    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def _awaiting(shop, app, stripe_api):
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(price_cents=2000, on_hand=2), 1)
    card = {"number": "4000002760003184", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    method = stripe_api.v1.payment_methods.create(params={"type": "card", "card": card}).id
    placed = check_out(shop, headers, payment_method=method)
    order = wait_for_order(shop, headers, placed.get_json()["id"])
    assert order["status"] == "awaiting_payment", order["timeline"]
    return headers, order


def _authenticate(localstripe, order, success: bool) -> None:  # noqa: F811
    secret = order["payment"]["client_secret"]
    localstripe.post(
        f"/v1/payment_intents/{secret.split('_secret_')[0]}/_authenticate",
        {"client_secret": secret, "success": str(success).lower(), "key": "pk_test_bookstore"},
    )


def _poll(app, **kwargs):
    counts, outbox_ids = polling.settle_stuck_payments(stuck_after=NOW_STUCK, **kwargs)
    send_recorded(app.extensions["celery"], outbox_ids)
    return counts


def test_an_authenticated_payment_whose_webhook_never_came_is_confirmed_by_the_poller(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, order = _awaiting(shop, app, stripe_api)
    _authenticate(localstripe, order, success=True)  # localstripe sends no event for this

    counts = _poll(app)
    confirmed = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})

    assert counts["resumed"] == 1
    assert confirmed["status"] == "confirmed", confirmed["timeline"]
    assert confirmed["payment"]["status"] == "captured"
    # A second run finds nothing left to do.
    assert _poll(app)["checked"] == 0


def test_a_failed_authentication_without_its_webhook_fails_the_order(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, order = _awaiting(shop, app, stripe_api)
    _authenticate(localstripe, order, success=False)

    counts = _poll(app)
    failed = wait_for_order(shop, headers, order["id"], statuses={"payment_failed"})

    assert counts["failed"] == 1
    assert (failed["status"], failed["status_reason"]) == (
        "payment_failed",
        "authentication_failed",
    )


def test_a_shopper_who_never_authenticates_waits_until_the_deadline_then_expires(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, order = _awaiting(shop, app, stripe_api)

    assert _poll(app)["waiting"] == 1
    db.session.execute(
        update(Order)
        .where(Order.id == order["id"])
        .values(payment_deadline=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    counts = _poll(app)
    expired = shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()

    assert counts["expired"] == 1
    assert (expired["status"], expired["status_reason"]) == ("cancelled", "payment_timeout")
    assert expired["payment"]["status"] == "voided"
    intents = stripe_api.v1.payment_intents.list(params={"limit": 100}).data
    assert [i.status for i in intents if i.to_dict()["metadata"]["order_id"] == order["id"]] == [
        "canceled"
    ]
