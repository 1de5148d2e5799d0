"""Nightly payment reconciliation against a real localstripe, run by a real worker: planted
mismatches are reported and mailed to staff; a waiting order Stripe decided is settled."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from models import Notification, PaymentReconciliationReport, Role, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.stripe import localstripe, stripe_worker  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, stripe_worker, localstripe):  # noqa: F811
    localstripe.reset()  # only this test's PaymentIntents at Stripe
    return app.test_client()


@pytest.fixture
def stripe_api(localstripe):  # noqa: F811
    import stripe

    from tests.support.stripe import API_KEY

    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def _place(shop, headers, payment_method):
    add_to_cart(shop, headers, make_book(price_cents=2000, on_hand=2), 1)
    return wait_for_order(shop, headers, check_out(shop, headers, payment_method).get_json()["id"])


def _report() -> PaymentReconciliationReport | None:
    db.session.expire_all()
    return db.session.scalars(select(PaymentReconciliationReport)).first()


def test_planted_mismatches_are_reported_and_mailed_and_a_decided_order_is_settled(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    staff = make_user(role=Role.STAFF)
    headers = auth_headers(app, make_user())
    # Given a confirmed order refunded in part at Stripe without us hearing of it,
    paid = _place(shop, headers, "pm_card_visa")
    assert paid["status"] == "confirmed"
    ref = stripe_api.v1.payment_intents.list(params={"limit": 10}).data[0].id
    stripe_api.v1.refunds.create(params={"payment_intent": ref, "amount": 500})
    # a PaymentIntent naming an order we do not have,
    stranger = str(uuid.uuid4())
    stripe_api.v1.payment_intents.create(
        params={
            "amount": 999,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": {"order_id": stranger},
        }
    )
    # and an order whose shopper authenticated while the webhook got lost
    card = {"number": "4000002760003184", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    method = stripe_api.v1.payment_methods.create(params={"type": "card", "card": card}).id
    waiting = _place(shop, headers, method)
    secret = waiting["payment"]["client_secret"]
    localstripe.post(
        f"/v1/payment_intents/{secret.split('_secret_')[0]}/_authenticate",
        {"client_secret": secret, "success": "true", "key": "pk_test_bookstore"},
    )

    # When the nightly job runs on the worker
    app.extensions["celery"].send_task("tasks.payments.reconcile_payments", queue="payments")
    assert wait_until(lambda: _report() is not None and _report().finished_at is not None)

    # Then the report names each planted mismatch and nothing else
    report = _report()
    kinds = sorted((f["kind"], f["order_id"]) for f in report.findings)
    assert kinds == [("refund_mismatch", paid["id"]), ("unknown_order", stranger)]
    refund = next(f for f in report.findings if f["kind"] == "refund_mismatch")
    assert (refund["ours"]["refunded_cents"], refund["theirs"]["refunded_cents"]) == (0, 500)
    assert (report.intents_checked, report.payments_checked, report.settled) == (3, 2, 1)
    # the order Stripe decided is confirmed; the refunded one is left as it was
    confirmed = wait_for_order(shop, headers, waiting["id"], statuses={"confirmed"})
    assert confirmed["payment"]["status"] == "captured"
    again = shop.get(f"/api/v1/orders/{paid['id']}", headers=headers).get_json()
    assert again["payment"]["refunded_cents"] == 0
    # staff are mailed, and read it at the endpoint (shoppers may not)
    assert wait_until(
        lambda: db.session.scalar(
            select(Notification.id).where(
                Notification.dedupe_key == f"payment-mismatch:{report.id}:{staff.id}"
            )
        )
    )
    body = shop.get("/api/v1/admin/reports/payments", headers=auth_headers(app, staff))
    assert body.status_code == 200
    assert body.get_json()["reports"][0]["mismatches"] == 2
    assert shop.get("/api/v1/admin/reports/payments", headers=headers).status_code == 403
