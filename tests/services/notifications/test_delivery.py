"""Email through each backend (file, SES on a moto server, SMTP), preferences and send_once."""

from __future__ import annotations

from email import message_from_bytes, policy

import boto3
import pytest
import requests

from models import Notification, db
from services.notifications import delivery as notifications
from services.notifications.email import TransientEmailError
from tests.factories import make_user
from tests.support.aws import free_port
from tests.support.smtp_sink import SmtpSink

SENDER = "shop@bookstore.example"
LINK = "https://shop.example/verify-email?token=abc123"


@pytest.fixture
def file_config(app, tmp_path):
    return {**app.config, "EMAIL_BACKEND": "file", "EMAIL_FILE_DIR": str(tmp_path / "mail")}


def queued(to="reader@example.com", template="verify_email", user=None, **context):
    context = {"name": "Ada", "link": LINK, "valid_hours": 48, **context}
    notification = notifications.queue(to, template, context, user_id=user.id if user else None)
    db.session.commit()
    return notification


def eml_files(config) -> list:
    from pathlib import Path

    return sorted(Path(config["EMAIL_FILE_DIR"]).glob("*.eml"))


def test_file_backend_writes_an_eml_a_mail_client_can_open(session, file_config):
    notification = queued()

    sent = notifications.deliver(notification.id, file_config)

    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    assert sent.context is None  # the one-time link is not kept after sending
    [path] = eml_files(file_config)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "reader@example.com"
    assert message["Subject"] == "Confirm your email address for Bookstore"
    assert message["X-Notification-ID"] == str(notification.id)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert LINK in text
    assert f'href="{LINK}"' in html


def test_delivering_twice_sends_once(session, file_config):
    notification = queued()
    notifications.deliver(notification.id, file_config)
    again = notifications.deliver(notification.id, file_config)
    assert again.status == "sent" and again.attempts == 1
    assert len(eml_files(file_config)) == 1


def test_send_once_with_the_same_key_sends_one_message(session, file_config):
    user = make_user()
    first = notifications.send_once(
        "order:42:confirmed",
        user.email,
        "verify_email",
        {"name": "Ada", "link": LINK, "valid_hours": 1},
        user_id=user.id,
        config=file_config,
    )
    second = notifications.send_once(
        "order:42:confirmed",
        user.email,
        "verify_email",
        {"name": "Ada", "link": LINK, "valid_hours": 1},
        user_id=user.id,
        config=file_config,
    )
    assert first.id == second.id
    assert second.status == "sent"
    assert len(eml_files(file_config)) == 1


def test_non_essential_mail_respects_preferences(session, file_config):
    user = make_user()
    notifications.set_preferences(user, {"order_updates": False, "marketing": False})
    skipped = notifications.send_once(
        "order:7:shipped", user.email, "order_test", {}, user_id=user.id, config=file_config
    )
    essential = notifications.deliver(queued(to=user.email, user=user).id, file_config)
    assert skipped.status == "skipped"
    assert essential.status == "sent"
    assert len(eml_files(file_config)) == 1


def test_an_unknown_template_is_a_recorded_failure(session, file_config):
    notification = notifications.queue("a@example.com", "no_such_template", {})
    db.session.commit()
    failed = notifications.deliver(notification.id, file_config)
    assert failed.status == "failed"
    assert "no_such_template" in failed.last_error


def test_smtp_refused_is_transient_and_recorded_then_sent_when_the_server_answers(session, app):
    port = free_port()
    config = {
        **app.config,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_TIMEOUT_SECONDS": 2,
    }
    notification = queued()

    with pytest.raises(TransientEmailError):
        notifications.deliver(notification.id, config)
    db.session.expire_all()
    stored = db.session.get(Notification, notification.id)
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert "127.0.0.1" in stored.last_error

    sink = SmtpSink(port).start()
    try:
        sent = notifications.deliver(notification.id, config)
    finally:
        sink.stop()
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    [message] = sink.messages
    assert message["To"] == "reader@example.com"
    assert LINK in message.get_body(preferencelist=("plain",)).get_content()


def ses_config(app, endpoint):
    return {
        **app.config,
        "EMAIL_BACKEND": "ses",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "EMAIL_FROM": f"Bookstore <{SENDER}>",
    }


def test_ses_sends_through_the_real_api_of_a_moto_server(session, app, aws):
    boto3.client("ses", region_name="us-east-1", endpoint_url=aws).verify_email_identity(
        EmailAddress=SENDER
    )
    notification = queued()

    sent = notifications.deliver(notification.id, ses_config(app, aws))

    assert sent.status == "sent" and sent.provider_message_id
    data = requests.get(f"{aws}/moto-api/data.json", timeout=10).json()
    [stored] = data["ses"]["RawMessage"]
    assert stored["source"] == SENDER
    assert "reader@example.com" in stored["destinations"]
    message = message_from_bytes(stored["raw_data"].encode(), policy=policy.default)
    assert message["Subject"] == "Confirm your email address for Bookstore"
    assert LINK in message.get_body(preferencelist=("plain",)).get_content()


def test_ses_rejecting_an_unverified_sender_is_a_permanent_recorded_failure(session, app, aws):
    notification = queued()

    failed = notifications.deliver(notification.id, ses_config(app, aws))

    assert failed.status == "failed"
    assert "MessageRejected" in failed.last_error
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).status == "failed"


def test_my_notifications_lists_what_was_sent_to_me(client, app, file_config):
    from tests.factories import auth_headers

    user = make_user()
    other = make_user()
    notifications.deliver(queued(to=user.email, user=user).id, file_config)
    queued(to=other.email, user=other)

    response = client.get("/api/v1/me/notifications/emails", headers=auth_headers(app, user))

    assert response.status_code == 200
    [item] = response.json["items"]
    assert item["status"] == "sent" and item["template"] == "verify_email"
    assert item["subject"] == "Confirm your email address for Bookstore"


def test_notification_preferences_round_trip(client, app):
    from tests.factories import auth_headers

    headers = auth_headers(app, make_user())
    defaults = client.get("/api/v1/me/notification-preferences", headers=headers).json
    put = client.put(
        "/api/v1/me/notification-preferences",
        headers=headers,
        json={"order_updates": {"email": False}, "marketing": {"email": True, "in_app": False}},
    )
    after = client.get("/api/v1/me/notification-preferences", headers=headers).json
    bad = client.put("/api/v1/me/notification-preferences", headers=headers, json={"x": 1})
    bad_channel = client.put(
        "/api/v1/me/notification-preferences",
        headers=headers,
        json={"order_updates": {"pigeon": True}},
    )

    assert defaults == {
        "order_updates": {"email": True, "sms": False, "web_push": False, "in_app": True},
        "marketing": {"email": False, "sms": False, "web_push": False, "in_app": True},
        "back_in_stock": {"email": True, "sms": False, "web_push": False, "in_app": True},
        "quiet_hours": None,
    }
    assert put.status_code == 200
    assert after["order_updates"] == {
        "email": False,
        "sms": False,
        "web_push": False,
        "in_app": True,
    }
    assert after["marketing"] == {"email": True, "sms": False, "web_push": False, "in_app": False}
    assert after["back_in_stock"] == defaults["back_in_stock"]
    assert bad.status_code == 422 and bad_channel.status_code == 422


def refused_smtp_config(app):
    return {
        **app.config,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": free_port(),
        "SMTP_TIMEOUT_SECONDS": 2,
    }


def test_giving_up_after_transient_failures_records_a_failure(session, app):
    notification = queued()
    with pytest.raises(TransientEmailError):
        notifications.deliver(notification.id, refused_smtp_config(app))

    notifications.record_gave_up(notification.id, "connection refused")

    db.session.expire_all()
    stored = db.session.get(Notification, notification.id)
    assert stored.status == "failed"
    assert stored.last_error.startswith("gave up after 1 attempts")


def test_send_once_raises_transient_errors_for_the_caller_to_retry(session, app, file_config):
    args = (
        "order:9:confirmed",
        "r@example.com",
        "verify_email",
        {"name": "R", "link": LINK, "valid_hours": 1},
    )
    with pytest.raises(TransientEmailError):
        notifications.send_once(*args, config=refused_smtp_config(app))
    retried = notifications.send_once(*args, config=file_config)
    assert (retried.status, retried.attempts) == ("sent", 2)


def test_never_attempted_finds_only_old_untried_notifications(session):
    from datetime import UTC, datetime, timedelta

    old = queued()
    old.created_at = datetime.now(UTC) - timedelta(minutes=10)
    tried = queued()
    tried.created_at = old.created_at
    tried.attempts = 1
    fresh = queued()
    db.session.commit()

    found = notifications.never_attempted(older_than_seconds=300)

    assert old.id in found
    assert tried.id not in found and fresh.id not in found


def test_my_notifications_are_paged_with_a_cursor(client, app, session):
    from tests.factories import auth_headers

    user = make_user()
    headers = auth_headers(app, user)
    for _ in range(3):
        queued(to=user.email, user=user)

    first = client.get("/api/v1/me/notifications/emails?limit=2", headers=headers).json
    second = client.get(
        f"/api/v1/me/notifications/emails?limit=2&cursor={first['next_cursor']}", headers=headers
    ).json

    assert len(first["items"]) == 2 and first["next_cursor"]
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    bad = client.get("/api/v1/me/notifications/emails?cursor=garbage", headers=headers)
    assert bad.status_code == 400 and bad.json["error"] == "invalid_cursor"
