"""Guest checkout on a real worker: a guest's order is confirmed, mailed to its address with
a signed link, readable with its cart token or that link only, and joins the account that
later registers and verifies the same address."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from models import Notification, db
from services.orders import guest_access
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, checkout_body, wait_for_order
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

GUEST_EMAIL = "Guest.Shopper@example.com"


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _confirmation(order_id) -> Notification | None:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification).where(
            Notification.dedupe_key == f"order:{order_id}:confirmed",
            Notification.status == "sent",
        )
    ).first()


def _sent(user_id, template) -> Notification | None:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification).where(
            Notification.user_id == user_id,
            Notification.template == template,
            Notification.status == "sent",
        )
    ).first()


def _raw_eml(app, notification_id) -> str:
    [path] = Path(app.config["EMAIL_FILE_DIR"]).glob(f"*-{notification_id}.eml")
    return path.read_bytes().decode()


def _guest_order(shop, book) -> tuple[dict, dict]:
    cart = add_to_cart(shop, {}, book, 2)
    guest = {"X-Cart-Token": cart.headers["X-Cart-Token"]}
    placed = shop.post("/api/v1/checkout", json=checkout_body(email=GUEST_EMAIL), headers=guest)
    assert placed.status_code == 202, placed.get_json()
    return placed, guest


def test_guest_checks_out_to_confirmed_and_reads_the_order_with_its_token_or_link(shop, app):
    # given a guest with two copies in its cart
    book = make_book("Guest Book", price_cents=1500, on_hand=5)
    # when it checks out with its e-mail address and no login
    placed, guest = _guest_order(shop, book)
    order = placed.get_json()
    # then the order has a human-readable number and a Location to poll
    assert re.fullmatch(r"BK-\d{6,}", order["number"])
    assert placed.headers["Location"] == f"/api/v1/orders/{order['id']}"
    # and the real worker confirms it; the guest polls it with its cart token
    final = wait_for_order(shop, guest, order["id"])
    assert final["status"] == "confirmed", final
    assert final["number"] == order["number"]
    # and the confirmation goes to the guest's address, numbered, with a signed order link
    mail = wait_for(lambda: _confirmation(order["id"]))
    assert mail.to_email == GUEST_EMAIL
    assert mail.user_id is None
    assert order["number"] in mail.subject
    # (the link is copied out of the raw .eml as a mail client would show it)
    raw = _raw_eml(app, mail.id)
    path = f"/api/v1/orders/{order['id']}"
    # an absolute link on PUBLIC_BASE_URL, signed with the order-link key (not the raw secret)
    link = re.escape(app.config["PUBLIC_BASE_URL"] + path) + r"\?token=([A-Za-z0-9_.-]+)"
    token = re.search(link, raw).group(1)
    raw_secret = URLSafeSerializer(app.config["SECRET_KEY"], salt="orders.guest-link")
    with pytest.raises(BadSignature):
        raw_secret.loads(token)
    by_link = shop.get(f"{path}?token={token}")
    assert by_link.status_code == 200
    assert by_link.get_json()["id"] == order["id"]
    # and strangers get the same 404 as for a missing order
    url = f"/api/v1/orders/{order['id']}"
    assert shop.get(url).status_code == 401
    assert shop.get(url, headers={"X-Cart-Token": "someone-elses-token"}).status_code == 404
    assert shop.get(f"{url}?token={token}x").status_code == 404
    stranger = make_user()
    assert shop.get(url, headers=auth_headers(shop.application, stranger)).status_code == 404


def test_a_guest_cancels_its_own_order_with_its_token_or_link(shop, app):
    # given two confirmed guest orders of a book with 4 copies (2 each)
    book = make_book("Cancelled by a guest", price_cents=1200, on_hand=4)
    first, first_guest = _guest_order(shop, book)
    second, _ = _guest_order(shop, book)
    first_id, second_id = first.get_json()["id"], second.get_json()["id"]
    assert wait_for_order(shop, first_guest, first_id)["status"] == "confirmed"
    cancel = f"/api/v1/orders/{first_id}/cancel"
    # when strangers try: no proof is a 401; another cart's token, a forged link or another
    # customer get the same 404 as a missing order; and nothing changed
    assert shop.post(cancel).status_code == 401
    assert shop.post(cancel, headers={"X-Cart-Token": "someone-elses"}).status_code == 404
    assert shop.post(f"{cancel}?token=forged").status_code == 404
    stranger = auth_headers(shop.application, make_user())
    assert shop.post(cancel, headers=stranger).status_code == 404
    assert shop.get(f"/api/v1/orders/{first_id}", headers=first_guest).get_json()["status"] == (
        "confirmed"
    )
    # then the guest cancels with its cart token: cancelled, money back, stock back
    cancelled = shop.post(cancel, headers=first_guest)
    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert body["status"] == "cancelled" and body["status_reason"] == "cancelled_by_customer"
    assert body["payment"]["status"] in ("refunded", "cancelled")
    assert shop.post(cancel, headers=first_guest).get_json()["status"] == "cancelled"  # again
    # and the other order is cancelled through its e-mailed link token
    link = guest_access.link_token(uuid.UUID(second_id), app.config["SECRET_KEY"])
    by_link = shop.post(f"/api/v1/orders/{second_id}/cancel?token={link}")
    assert by_link.status_code == 200 and by_link.get_json()["status"] == "cancelled"
    db.session.expire_all()
    stock = shop.get(f"/api/v1/books/{book.id}").get_json()["availability"]
    assert stock["available"] == 4, stock


def test_guest_orders_join_the_account_that_verifies_the_address(shop, app):
    # given a confirmed guest order
    book = make_book("Joined", price_cents=900, on_hand=3)
    placed, guest = _guest_order(shop, book)
    order_id = placed.get_json()["id"]
    assert wait_for_order(shop, guest, order_id)["status"] == "confirmed"
    # when the same address registers (any case) and verifies
    registered = shop.post(
        "/api/v1/auth/register",
        json={"email": GUEST_EMAIL.lower(), "password": "a-long-passphrase", "name": "Guest"},
    )
    assert registered.status_code == 201, registered.get_json()
    user_id = registered.get_json()["id"]
    login = shop.post(
        "/api/v1/auth/login",
        json={"email": GUEST_EMAIL.lower(), "password": "a-long-passphrase"},
    ).get_json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    # (before verification the order is not the account's)
    assert shop.get("/api/v1/orders", headers=headers).get_json()["items"] == []
    # (the verification token is copied out of the raw .eml the worker wrote)
    verify = wait_for(lambda: _sent(user_id, "verify_email"))
    token = re.search(r"verify-email\?token=([A-Za-z0-9_.-]+)", _raw_eml(app, verify.id)).group(1)
    assert shop.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200
    # then the guest order is in the account's history
    history = shop.get("/api/v1/orders", headers=headers).get_json()["items"]
    assert [item["id"] for item in history] == [order_id]


def test_guest_checkout_needs_an_email_and_its_cart_token(shop):
    book = make_book("Needs", price_cents=900, on_hand=3)
    cart = add_to_cart(shop, {}, book)
    guest = {"X-Cart-Token": cart.headers["X-Cart-Token"]}
    no_email = shop.post("/api/v1/checkout", json=checkout_body(), headers=guest)
    assert no_email.status_code == 422
    assert no_email.get_json()["error"] == "email_required"
    no_token = shop.post("/api/v1/checkout", json=checkout_body(email=GUEST_EMAIL))
    assert no_token.status_code == 422
    assert no_token.get_json()["error"] == "cart_token_required"
