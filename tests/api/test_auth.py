"""Registration, login, rotating refresh tokens, email verification and password reset."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from app import create_app
from models import LinkPurpose, Notification, User, db
from services.accounts import link_tokens
from tests.factories import make_user

PASSWORD = "Plum-Orchard-Lantern-42"
FACTORY_PASSWORD = "correct horse battery staple"


def register(client, email="reader@example.com", password=PASSWORD, name="Reader"):
    return client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
    )


def login(client, email, password=FACTORY_PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def keys_of(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def token_from_link(notification: Notification) -> str:
    return parse_qs(urlparse(notification.context["link"]).query)["token"][0]


def latest_notification(user_id, template) -> Notification:
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.template == template)
        .order_by(Notification.created_at.desc())
    ).first()


def test_register_creates_a_customer_with_a_normalised_email(client):
    response = register(client, email="  Reader@Example.COM ")
    assert response.status_code == 201
    body = response.json
    assert body["email"] == "reader@example.com"
    assert body["role"] == "customer"
    assert body["email_verified"] is False
    assert not any("password" in key for key in keys_of(body))
    user = db.session.get(User, body["id"])
    assert user.password_hash.startswith("$argon2id$")
    queued = latest_notification(user.id, "verify_email")
    assert queued.status == "queued"
    assert queued.context["link"].startswith("http://localhost:3000/verify-email?token=")


def test_register_refuses_the_same_email_in_any_case(client):
    assert register(client, email="dup@example.com").status_code == 201
    response = register(client, email="DUP@example.com")
    assert response.status_code == 409
    assert response.json["error"] == "email_taken"


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short1!", "at least 10"), ("password123", "too common"), ("qwertyuiop", "too common")],
)
def test_register_enforces_the_password_policy(client, password, fragment):
    response = register(client, password=password)
    assert response.status_code == 422
    assert response.json["error"] == "weak_password"
    assert fragment in response.json["message"]


def test_register_rejects_a_malformed_email(client):
    response = register(client, email="not-an-email")
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert "email" in response.json["errors"]["json"]


def test_login_returns_an_access_and_a_refresh_token(client):
    user = make_user()
    response = login(client, user.email.upper())
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json["id"] == str(user.id)


def test_login_with_a_wrong_password_or_unknown_email_is_the_same_401(client):
    user = make_user()
    wrong = login(client, user.email, "not the right password")
    unknown = login(client, "nobody@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json["error"] == "invalid_credentials"
    assert wrong.json["message"] == unknown.json["message"]


def test_inactive_users_cannot_log_in(client):
    user = make_user()
    user.is_active = False
    db.session.commit()
    assert login(client, user.email).json["error"] == "invalid_credentials"


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client):
    user = make_user()
    first = login(client, user.email).json["refresh_token"]

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json["refresh_token"]
    assert second != first

    replayed = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replayed.status_code == 401
    assert replayed.json["error"] == "token_reused"

    # The thief's replay also ended the legitimate holder's session.
    after = client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401
    assert after.json["error"] == "invalid_token"


def test_another_login_family_survives_a_reuse_in_a_different_family(client):
    user = make_user()
    laptop = login(client, user.email).json["refresh_token"]
    phone = login(client, user.email).json["refresh_token"]
    client.post("/api/v1/auth/refresh", json={"refresh_token": laptop})
    client.post("/api/v1/auth/refresh", json={"refresh_token": laptop})
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": phone}).status_code == 200


def test_unknown_refresh_token_is_401(client):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_logout_revokes_the_refresh_token(client):
    user = make_user()
    token = login(client, user.email).json["refresh_token"]
    assert client.post("/api/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_the_verification_link_verifies_the_email_once(client):
    user_id = register(client).json["id"]
    token = token_from_link(latest_notification(user_id, "verify_email"))

    verified = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json["email_verified"] is True

    again = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 400
    assert again.json["error"] == "invalid_token"


def test_a_made_up_verification_token_is_refused(client):
    response = client.post("/api/v1/auth/verify-email", json={"token": "forged"})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_token"


def test_password_reset_answers_202_whether_or_not_the_account_exists(client):
    user = make_user()
    known = client.post("/api/v1/auth/password-reset", json={"email": user.email})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json
    assert latest_notification(user.id, "password_reset").status == "queued"
    assert (
        db.session.scalar(select(Notification).where(Notification.to_email == "ghost@example.com"))
        is None
    )


def test_password_reset_confirm_sets_the_password_and_ends_every_session(client):
    user = make_user()
    refresh = login(client, user.email).json["refresh_token"]
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    token = token_from_link(latest_notification(user.id, "password_reset"))
    new_password = "Granite-Meadow-Violin-7"

    confirmed = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert confirmed.status_code == 204
    assert login(client, user.email).status_code == 401
    assert login(client, user.email, new_password).status_code == 200
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401

    reused = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "Another-Fresh-Phrase-9"},
    )
    assert reused.status_code == 400
    assert reused.json["error"] == "invalid_token"


def test_password_reset_confirm_refuses_an_expired_token_and_a_weak_password(client):
    user = make_user()
    expired = link_tokens.create(user, LinkPurpose.PASSWORD_RESET, ttl_seconds=-1)
    fresh = link_tokens.create(user, LinkPurpose.PASSWORD_RESET, ttl_seconds=600)
    db.session.commit()

    response = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": expired, "new_password": "Granite-Meadow-Violin-7"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_token"

    weak = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": fresh, "new_password": "password1"}
    )
    assert weak.status_code == 422
    assert weak.json["error"] == "weak_password"
    # The weak attempt did not spend the link.
    ok = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": fresh, "new_password": "Granite-Meadow-Violin-7"},
    )
    assert ok.status_code == 204


def test_the_password_never_appears_in_a_response_or_a_log_line(client, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Unmistakable-Secret-Phrase-913"
    responses = [register(client, email="quiet@example.com", password=secret)]
    responses.append(login(client, "quiet@example.com", secret))
    responses.append(login(client, "quiet@example.com", secret + "-wrong"))
    responses.append(register(client, email="quiet@example.com", password=secret))
    responses.append(register(client, email="other@example.com", password=secret[:5]))
    user = db.session.scalar(select(User).where(User.email == "quiet@example.com"))
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    token = token_from_link(latest_notification(user.id, "password_reset"))
    responses.append(
        client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": secret + "-new"},
        )
    )
    assert [r.status_code for r in responses] == [201, 200, 401, 409, 422, 204]
    for response in responses:
        text = response.get_data(as_text=True)
        assert secret[:5] not in text
        assert not any("password" in key for key in keys_of(response.get_json(silent=True)))
    assert caplog.records, "the flows above should have logged something"
    assert secret[:5] not in caplog.text
    for record in caplog.records:
        assert secret[:5] not in record.getMessage()


@pytest.fixture
def strict_app(session):
    return create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "RATE_LIMIT_LOGIN": "2 per minute",
            "RATE_LIMIT_REGISTER": "1 per minute",
            "RATE_LIMIT_PASSWORD_RESET": "1 per minute",
        }
    )


@pytest.mark.parametrize(
    ("path", "body", "allowed"),
    [
        ("/api/v1/auth/login", {"email": "x@example.com", "password": "whatever-it-is"}, 2),
        ("/api/v1/auth/register", {"email": "bad", "password": "p"}, 1),
        ("/api/v1/auth/password-reset", {"email": "x@example.com"}, 1),
    ],
)
def test_rate_limit_answers_429_with_retry_after(strict_app, path, body, allowed):
    client = strict_app.test_client()
    for _ in range(allowed):
        assert client.post(path, json=body).status_code != 429
    response = client.post(path, json=body)
    assert response.status_code == 429
    assert response.json["error"] == "rate_limited"
    assert response.json["code"] == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # Another address has its own budget.
    other = client.post(path, json=body, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code != 429
