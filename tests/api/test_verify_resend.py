"""POST /auth/verify-email/resend (202 always, rate-limited) and the policy setting
REQUIRE_VERIFIED_EMAIL_TO_ORDER."""

from __future__ import annotations

from sqlalchemy import func, select

from app import create_app
from models import Notification, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out

RESEND = "/api/v1/auth/verify-email/resend"


def _verification_mails(email: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.to_email == email, Notification.template == "verify_email")
    )


def test_resend_queues_a_new_mail_only_for_an_unverified_account(client):
    # given an unverified account and a verified one
    unverified, verified = make_user(), make_user()
    verified.email_verified_at = func.now()
    db.session.commit()
    # when each, and an unknown address, ask for the mail again
    answers = [
        client.post(RESEND, json={"email": email})
        for email in (unverified.email, verified.email, "nobody@example.com")
    ]
    # then the answer never tells which is which
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert {a.get_json()["status"] for a in answers} == {"accepted"}
    # and only the unverified account gets a new mail
    assert _verification_mails(unverified.email) == 1
    assert _verification_mails(verified.email) == 0


def test_resend_is_rate_limited(client):
    user = make_user()
    statuses = [client.post(RESEND, json={"email": user.email}).status_code for _ in range(4)]
    # the default limit is 3 per minute
    assert statuses == [202, 202, 202, 429]
    limited = client.post(RESEND, json={"email": user.email})
    assert limited.get_json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_unverified_accounts_may_not_order_when_the_shop_requires_it(app, session):
    # given a shop that requires a verified e-mail to order
    strict = create_app({"TESTING": True, "REQUIRE_VERIFIED_EMAIL_TO_ORDER": True})
    client = strict.test_client()
    user = make_user()
    headers = auth_headers(strict, user)
    add_to_cart(client, headers, make_book())
    # when the unverified account checks out
    response = check_out(client, headers)
    # then it is told to verify first
    assert response.status_code == 403
    assert response.get_json()["error"] == "email_not_verified"
