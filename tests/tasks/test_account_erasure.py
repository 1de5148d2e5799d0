"""DELETE /me on a real worker: the account is locked out at once (202), then its personal data
is removed or anonymised while its orders stay for the books."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from models import Address, Order, PushSubscription, RefreshToken, User, UserPhone, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import ADDRESS, add_to_cart, check_out, wait_for_order
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

PASSWORD = "correct horse battery staple"
HOME = {
    "name": "Grace Hopper",
    "line1": "7 Cobol Court",
    "city": "Arlington",
    "postal_code": "22201",
    "country": "US",
}


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _erased(user_id) -> User | None:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return user if user.erased_at is not None else None


def test_delete_me_erases_personal_data_and_keeps_the_orders(shop, app):
    # given a shopper with an address, a phone, a session and a confirmed order
    user = make_user()
    email = user.email
    headers = auth_headers(app, user)
    assert shop.post("/api/v1/me/addresses", headers=headers, json=HOME).status_code == 201
    db.session.add(UserPhone(user_id=user.id, phone_e164="+14155552671"))
    db.session.add(
        PushSubscription(
            user_id=user.id,
            endpoint="https://fcm.googleapis.com/fcm/send/erase-me",
            p256dh="B" + "A" * 86,
            auth="A" * 22,
        )
    )
    db.session.commit()
    login = shop.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    add_to_cart(shop, headers, make_book(price_cents=1800), 2)
    placed = check_out(shop, headers)
    assert placed.status_code == 202, placed.get_json()
    order_id = placed.get_json()["id"]
    before = wait_for_order(shop, headers, order_id)
    assert before["status"] == "confirmed", before

    # when the shopper erases the account
    answer = shop.delete("/api/v1/me", headers=headers)

    # then it is accepted and the account is locked out at once
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json() == {"status": "erasure_scheduled"}
    assert shop.get("/api/v1/me", headers=headers).status_code == 401
    refresh = shop.post(
        "/api/v1/auth/refresh", json={"refresh_token": login.get_json()["refresh_token"]}
    )
    assert refresh.status_code == 401
    # and the worker anonymises the account and removes its personal data
    erased = wait_for(lambda: _erased(user.id), timeout=30)
    assert erased is not None, "the erasure task did not run"
    assert erased.email.endswith("@erased.invalid") and erased.name == ""
    assert not erased.is_active and erased.email_verified_at is None
    for model in (Address, UserPhone, PushSubscription, RefreshToken):
        count = db.session.scalar(
            select(func.count()).select_from(model).where(model.user_id == user.id)
        )
        assert count == 0, model
    # while the order stays, with its amounts and lines, and only the country of its address
    order = db.session.get(Order, order_id)
    assert order.user_id == user.id and order.status == "confirmed"
    assert order.total_cents == before["total_cents"] and len(order.lines) == 1
    assert order.shipping_address == {"country": ADDRESS["country"], "erased": True}
    raw = db.session.scalar(text("SELECT o::text FROM orders o WHERE id = :o"), {"o": order_id})
    assert ADDRESS["name"] not in raw and ADDRESS["line1"] not in raw
    # and the old credentials open nothing; the address may be used for a new account
    relogin = shop.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert relogin.status_code == 401
    again = shop.post(
        "/api/v1/auth/register",
        json={"email": email, "password": "Another-Long-Passphrase-9", "name": "New"},
    )
    assert again.status_code == 201, again.get_json()


def test_the_erasure_task_is_idempotent(shop, app):
    from services.privacy import erasure

    user = make_user()
    assert shop.delete("/api/v1/me", headers=auth_headers(app, user)).status_code == 202
    erased = wait_for(lambda: _erased(user.id), timeout=30)
    assert erased is not None
    first = (erased.email, erased.erased_at)
    # a redelivered task changes nothing
    assert erasure.erase(user.id) is False
    db.session.expire_all()
    again = db.session.get(User, user.id)
    assert (again.email, again.erased_at) == first


def test_delete_me_needs_a_token(shop):
    answer = shop.delete("/api/v1/me")
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_token"
