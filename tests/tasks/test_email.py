"""The email task on real workers: a registration's verification email lands as a file, and
a transient SMTP failure is retried with backoff until it is sent."""

from __future__ import annotations

import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from models import Notification, User, db
from services.notifications import delivery as notifications
from tasks.email import send_notification
from tests.support.aws import free_port
from tests.support.smtp_sink import SmtpSink
from tests.support.workers import WorkerProcess


def wait_for_notification(notification_id, condition, timeout=30.0) -> Notification:
    deadline = time.monotonic() + timeout
    while True:
        db.session.remove()
        notification = db.session.get(Notification, notification_id)
        if notification is not None and condition(notification):
            return notification
        if time.monotonic() > deadline:
            raise AssertionError(
                f"notification never got there: {notification and vars(notification)}"
            )
        time.sleep(0.2)


def test_a_registered_user_receives_the_verification_email_and_its_link_verifies(
    app, committed, worker
):
    client = app.test_client()
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": "Harbour-Lantern-Quartz-5", "name": "New Reader"},
    )
    assert response.status_code == 201
    user_id = uuid.UUID(response.json["id"])
    notification_id = db.session.scalar(
        select(Notification.id).where(Notification.user_id == user_id)
    )

    sent = wait_for_notification(notification_id, lambda n: n.status == "sent")

    [path] = Path(app.config["EMAIL_FILE_DIR"]).glob(f"*-{notification_id}.eml")
    assert sent.provider_message_id == str(path)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == email
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if "token=" in word)
    token = parse_qs(urlparse(link).query)["token"][0]

    verified = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    db.session.remove()
    assert db.session.get(User, user_id).email_verified_at is not None
    path.unlink()


def test_a_transient_failure_is_retried_with_backoff_and_then_sent(app, committed):
    port = free_port()
    queue = f"email-retry-{uuid.uuid4().hex[:6]}"
    notification = notifications.queue(
        "retry@example.com",
        "password_reset",
        {"name": "R", "link": "https://shop.example/reset-password?token=t", "valid_minutes": 60},
    )
    db.session.commit()
    retrying_worker = WorkerProcess(
        app.extensions["celery"],
        name="smtp-retry",
        concurrency=1,
        queues=(queue,),
        env={
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_TIMEOUT_SECONDS": "2",
            "EMAIL_RETRY_BASE_SECONDS": "1",
            "EMAIL_MAX_RETRIES": "8",
        },
    )
    retrying_worker.start()
    sink = None
    try:
        send_notification.apply_async(args=[str(notification.id)], queue=queue)
        # Nothing listens on the port yet: connection refused, recorded, retried.
        failing = wait_for_notification(notification.id, lambda n: n.attempts >= 2)
        assert failing.status == "queued"
        assert "refused" in failing.last_error.lower()

        sink = SmtpSink(port).start()
        sent = wait_for_notification(notification.id, lambda n: n.status == "sent", timeout=60)
    finally:
        retrying_worker.stop()
        if sink is not None:
            sink.stop()
    assert sent.attempts >= 3
    assert sent.last_error is None
    assert [m["To"] for m in sink.messages] == ["retry@example.com"]


def test_the_relay_sends_a_notification_whose_message_was_lost(app, committed, worker):
    from datetime import UTC, datetime, timedelta

    from tasks.email import requeue_unsent

    notification = notifications.queue(
        "lost@example.com",
        "password_reset",
        {"name": "L", "link": "https://shop.example/reset-password?token=t", "valid_minutes": 60},
    )
    notification.created_at = datetime.now(UTC) - timedelta(minutes=30)
    db.session.commit()  # committed, but never enqueued: as if the broker had been down

    assert requeue_unsent.delay().get(timeout=30) >= 1

    sent = wait_for_notification(notification.id, lambda n: n.status == "sent")
    assert sent.attempts == 1
    for path in Path(app.config["EMAIL_FILE_DIR"]).glob(f"*-{notification.id}.eml"):
        path.unlink()
