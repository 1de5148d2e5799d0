"""Payments on Stripe: a real worker with PAYMENT_PROVIDER=stripe against a real localstripe;
3-D Secure resumed by signed webhooks (localstripe sends no capturable event for manual
capture, so the test signs it as Stripe would)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Notification, ProcessedPaymentEvent, Role, Stock, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.stripe import event_for, localstripe, post_event, stripe_worker  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, stripe_worker):  # noqa: F811
    return app.test_client()


@pytest.fixture
def stripe_api(localstripe):  # noqa: F811
    import stripe

    from tests.support.stripe import API_KEY

    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def _place(shop, app, payment_method, on_hand=3):
    headers = auth_headers(app, make_user())
    book = make_book(price_cents=2000, on_hand=on_hand)
    add_to_cart(shop, headers, book, 1)
    placed = check_out(shop, headers, payment_method=payment_method)
    assert placed.status_code == 202, placed.get_json()
    return headers, book, wait_for_order(shop, headers, placed.get_json()["id"])


def _intents_for(stripe_api, order_id) -> list:
    return [
        intent
        for intent in stripe_api.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.to_dict()["metadata"].get("order_id") == order_id
    ]


def _reserved(book) -> int:
    db.session.expire_all()
    return db.session.scalars(select(Stock.reserved).where(Stock.book_id == book.id)).one()


def _card_needing_3ds(stripe_api) -> str:
    card = {"number": "4000002760003184", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    return stripe_api.v1.payment_methods.create(params={"type": "card", "card": card}).id


def _authenticate(localstripe, order, success: bool):  # noqa: F811
    ref = order["payment"]["client_secret"].split("_secret_")[0]
    localstripe.post(
        f"/v1/payment_intents/{ref}/_authenticate",
        {
            "client_secret": order["payment"]["client_secret"],
            "success": str(success).lower(),
            "key": "pk_test_bookstore",  # as Stripe.js in the shopper's browser
        },
    )
    return ref


def test_visa_is_confirmed_with_one_payment_intent_captured_for_the_total(shop, app, stripe_api):
    _, _, order = _place(shop, app, "pm_card_visa")

    assert order["status"] == "confirmed", order["timeline"]
    assert order["payment"]["provider"] == "stripe"
    assert order["payment"]["status"] == "captured"
    assert order["payment"]["card"] == {"brand": "visa", "last4": "4242"}
    intents = _intents_for(stripe_api, order["id"])
    assert [(i.status, i.amount, i.capture_method) for i in intents] == [
        ("succeeded", order["total_cents"], "manual")
    ]


def test_a_declined_card_fails_the_order_with_stripes_code(shop, app, stripe_api):
    _, book, order = _place(shop, app, "pm_card_chargeCustomerFail")

    assert (order["status"], order["status_reason"]) == ("payment_failed", "payment_declined")
    assert order["payment"]["status"] == "failed"
    step = next(e for e in order["timeline"] if e["step"] == "capture_payment")
    assert step["status"] == "failed"
    assert step["error"]["error"] == "payment_declined"
    assert step["error"]["details"]["code"] == "card_declined"
    assert _reserved(book) == 0


def test_3d_secure_waits_then_a_signed_capturable_event_confirms_once(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, book, order = _place(shop, app, _card_needing_3ds(stripe_api))
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["status"] == "requires_action"
    assert order["payment"]["next_action"]["type"] == "use_stripe_sdk"
    assert _reserved(book) == 1

    ref = _authenticate(localstripe, order, success=True)
    event = event_for(
        "payment_intent.amount_capturable_updated",
        {"id": ref, "object": "payment_intent", "metadata": {"order_id": order["id"]}},
    )
    answers = [post_event(shop, event).status_code for _ in range(3)]
    confirmed = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})

    assert answers == [200, 200, 200]
    assert confirmed["status"] == "confirmed", confirmed["timeline"]
    assert confirmed["payment"]["status"] == "captured"
    assert "client_secret" not in confirmed["payment"]
    assert [i.status for i in _intents_for(stripe_api, order["id"])] == ["succeeded"]
    # Late and out of order: a failure and a success for a confirmed order change nothing.
    late = [
        event_for("payment_intent.payment_failed", {"id": ref, "object": "payment_intent"}),
        event_for("payment_intent.succeeded", {"id": ref, "object": "payment_intent"}),
    ]
    assert [post_event(shop, e).status_code for e in late] == [200, 200]
    assert wait_until(
        lambda: db.session.scalar(select(func.count()).select_from(ProcessedPaymentEvent)) == 3
    )
    db.session.expire_all()
    outcomes = sorted(db.session.scalars(select(ProcessedPaymentEvent.outcome)))
    assert outcomes == ["applied", "ignored", "ignored"]
    final = shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()
    assert (final["status"], final["payment"]["status"]) == ("confirmed", "captured")


def test_failed_authentication_fails_the_order_and_releases_the_stock(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, book, order = _place(shop, app, _card_needing_3ds(stripe_api))
    ref = _authenticate(localstripe, order, success=False)

    post_event(
        shop, event_for("payment_intent.payment_failed", {"id": ref, "object": "payment_intent"})
    )
    failed = wait_for_order(shop, headers, order["id"], statuses={"payment_failed"})

    assert (failed["status"], failed["status_reason"]) == (
        "payment_failed",
        "authentication_failed",
    )
    assert failed["payment"]["status"] == "failed"
    assert _reserved(book) == 0


def test_cancelling_a_captured_order_refunds_it_at_stripe(shop, app, stripe_api):
    headers, _, order = _place(shop, app, "pm_card_visa")

    cancelled = shop.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)

    assert cancelled.status_code == 200
    body = cancelled.get_json()
    assert (body["status"], body["payment"]["status"]) == ("cancelled", "refunded")
    assert body["payment"]["refunded_cents"] == order["total_cents"]
    (intent,) = _intents_for(stripe_api, order["id"])
    charge = stripe_api.v1.charges.retrieve(
        intent.latest_charge if isinstance(intent.latest_charge, str) else intent.latest_charge.id
    )
    assert charge.amount_refunded == order["total_cents"]


def _staff(app):
    from models import Role

    return auth_headers(app, make_user(role=Role.STAFF))


def _refunded_at_stripe(stripe_api, order_id) -> int:
    (intent,) = _intents_for(stripe_api, order_id)
    charge = intent.to_dict()["latest_charge"]
    charge_id = charge if isinstance(charge, str) else charge["id"]
    return stripe_api.v1.charges.retrieve(charge_id).amount_refunded


def test_staff_refunds_part_then_the_rest_and_never_more(shop, app, stripe_api):
    headers, book, order = _place(shop, app, "pm_card_visa")
    staff, url = _staff(app), f"/api/v1/orders/{order['id']}/refunds"

    part = shop.post(url, json={"amount_cents": 500, "reason": "damaged"}, headers=staff)
    too_much = shop.post(
        url, json={"amount_cents": order["total_cents"], "reason": "x"}, headers=staff
    )
    partial = wait_until(
        lambda: (
            (body := shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json())[
                "payment"
            ]["refunded_cents"]
            == 500
            and body
        )
    )
    rest = shop.post(url, json={"reason": "customer return", "restock": True}, headers=staff)
    final = wait_for_order(shop, headers, order["id"], statuses={"refunded"})

    assert part.status_code == 202 and part.get_json()["amount_cents"] == 500
    assert too_much.status_code == 409
    assert too_much.get_json()["error"] == "over_refund"
    assert (partial["status"], partial["payment"]["status"]) == ("confirmed", "partially_refunded")
    assert rest.status_code == 202 and rest.get_json()["amount_cents"] == order["total_cents"] - 500
    assert final["payment"]["status"] == "refunded"
    assert final["payment"]["refunded_cents"] == order["total_cents"]
    assert _refunded_at_stripe(stripe_api, order["id"]) == order["total_cents"]
    db.session.expire_all()
    on_hand = db.session.scalars(select(Stock.on_hand).where(Stock.book_id == book.id)).one()
    assert on_hand == 3  # the copy came back through the ledger


def test_a_refund_made_in_stripes_dashboard_shows_on_the_order(shop, app, stripe_api):
    headers, _, order = _place(shop, app, "pm_card_visa")
    (intent,) = _intents_for(stripe_api, order["id"])
    stripe_api.v1.refunds.create(params={"payment_intent": intent.id, "amount": 700})

    post_event(
        shop,
        event_for(
            "charge.refunded", {"id": "ch_x", "object": "charge", "payment_intent": intent.id}
        ),
    )
    seen = wait_until(
        lambda: (
            (body := shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json())[
                "payment"
            ]["refunded_cents"]
            == 700
            and body
        )
    )

    assert seen["payment"]["status"] == "partially_refunded"


def test_an_order_awaiting_authentication_is_paid_with_another_card(
    shop,
    app,
    stripe_api,
    localstripe,  # noqa: F811
):
    headers, _, order = _place(shop, app, _card_needing_3ds(stripe_api))

    retried = shop.post(
        f"/api/v1/orders/{order['id']}/payment",
        json={"payment_method": "pm_card_visa"},
        headers=headers,
    )
    confirmed = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})

    assert retried.status_code == 202
    assert confirmed["status"] == "confirmed", confirmed["timeline"]
    assert confirmed["payment"]["card"]["last4"] == "4242"
    statuses = sorted(i.status for i in _intents_for(stripe_api, order["id"]))
    assert statuses == ["canceled", "succeeded"]


def test_a_dispute_flags_the_order_and_mails_staff_once(shop, app, stripe_api):
    staff = make_user(role=Role.STAFF)
    headers, _, order = _place(shop, app, "pm_card_visa")
    ref = _intents_for(stripe_api, order["id"])[0].id
    dispute = event_for(
        "charge.dispute.created",
        {"id": "dp_test_1", "object": "dispute", "payment_intent": ref, "amount": 2000},
    )

    answers = [post_event(shop, dispute).status_code for _ in range(2)]

    assert answers == [200, 200]
    assert wait_until(
        lambda: (
            shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()["status_reason"]
            == "disputed"
        )
    )
    key = f"payment-dispute:dp_test_1:{staff.id}"
    assert wait_until(
        lambda: db.session.scalar(select(func.count()).where(Notification.dedupe_key == key))
    )
    db.session.expire_all()
    mail = db.session.scalars(select(Notification).where(Notification.dedupe_key == key)).one()
    assert mail.template == "payment_dispute_alert"
