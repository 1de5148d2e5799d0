"""The dispatcher on the real worker: a registration's welcome goes out once, by e-mail and
in-app, through one dispatcher task and one task per channel."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Notification, NotificationDelivery, NotificationEvent, db
from tests.support.orders import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


def _log(user_id) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(
        select(NotificationDelivery.channel, NotificationDelivery.status)
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationEvent.user_id == user_id, NotificationEvent.event == "welcome")
    ).all()
    db.session.commit()
    return dict(rows)


def test_a_new_account_is_welcomed_once_on_each_channel(app, committed, worker):
    client = app.test_client()
    body = {"email": "welcome.me@example.com", "password": "a long passphrase 42", "name": "W"}

    registered = client.post("/api/v1/auth/register", json=body)
    again = client.post("/api/v1/auth/register", json=body)
    user_id = registered.get_json()["id"]
    # Each channel is its own task: wait until none is still queued.
    log = wait_until(lambda: (found := _log(user_id)) and "queued" not in found.values() and found)

    assert again.status_code == 409
    assert log == {"email": "sent", "in_app": "sent", "sms": "skipped", "web_push": "skipped"}
    welcome_mails = db.session.scalars(
        select(Notification.status).where(Notification.template == "welcome")
    ).all()
    assert welcome_mails == ["sent"]
    token = client.post(
        "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
    ).get_json()["access_token"]
    inbox = client.get(
        "/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert [item["event"] for item in inbox["items"]] == ["welcome"] and inbox["unread"] == 1
