"""Notifications on every channel: the dispatcher's per-channel delivery log (dedupe,
preferences), the in-app inbox (read_at, unread count in /me), back in stock told once,
welcome once per account."""

from __future__ import annotations

from sqlalchemy import func, select, update

from models import (
    InAppNotification,
    NotificationDelivery,
    NotificationEvent,
    Stock,
    db,
)
from services.notifications import back_in_stock, channels, events
from tests.factories import auth_headers, make_book, make_user


def _deliveries(event_key: str) -> dict[str, tuple[str, str | None]]:
    rows = db.session.execute(
        select(
            NotificationDelivery.channel, NotificationDelivery.status, NotificationDelivery.reason
        )
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationEvent.dedupe_key == event_key)
    ).all()
    return {channel: (status, reason) for channel, status, reason in rows}


def _event_id(key: str):
    return db.session.scalar(
        select(NotificationEvent.id).where(NotificationEvent.dedupe_key == key)
    )


def test_one_delivery_per_channel_with_preferences_and_dedupe(client, app):
    user = make_user()
    headers = auth_headers(app, user)
    client.put(
        "/api/v1/me/notification-preferences",
        headers=headers,
        json={"back_in_stock": {"email": False}},
    )
    book = make_book("Dune")
    key = f"back_in_stock:test:{user.id}"

    first = events.notify("back_in_stock", user.id, {"book_id": str(book.id), "title": "Dune"}, key)
    again = events.notify("back_in_stock", user.id, {}, key)
    db.session.commit()
    queued = events.fan_out(_event_id(key))
    requeued = events.fan_out(_event_id(key))  # a redelivered dispatcher

    assert first is not None and again is None
    assert [channel for _, channel in queued] == ["in_app"] and requeued == queued
    assert _deliveries(key) == {
        "email": ("skipped", "preference_off"),
        "sms": ("skipped", "preference_off"),
        "web_push": ("skipped", "preference_off"),
        "in_app": ("queued", None),
    }
    [(delivery_id, _)] = queued
    assert channels.deliver(delivery_id, app.config) == "sent"
    assert channels.deliver(delivery_id, app.config) == "sent"  # a redelivered channel task
    assert db.session.scalar(select(func.count(InAppNotification.id))) == 1


def test_the_inbox_lists_marks_read_and_counts_unread(client, app):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book("Emma")
    for n in range(2):
        key = f"back_in_stock:inbox:{n}"
        events.notify("back_in_stock", user.id, {"book_id": str(book.id), "title": "Emma"}, key)
        db.session.commit()
        for delivery_id, channel in events.fan_out(_event_id(key)):
            if channel == "in_app":
                channels.deliver(delivery_id, app.config)

    before = client.get("/api/v1/me", headers=headers).get_json()
    inbox = client.get("/api/v1/me/notifications", headers=headers).get_json()
    first_id = inbox["items"][0]["id"]
    read = client.post(f"/api/v1/me/notifications/{first_id}/read", headers=headers)
    read_again = client.post(f"/api/v1/me/notifications/{first_id}/read", headers=headers)
    stranger = client.post(
        f"/api/v1/me/notifications/{first_id}/read", headers=auth_headers(app, make_user())
    )
    after = client.get("/api/v1/me", headers=headers).get_json()

    assert before["unread_notifications"] == 2 and inbox["unread"] == 2
    assert inbox["items"][0]["title"] == "Back in stock"
    assert inbox["items"][0]["body"] == "Emma is back in stock."
    assert inbox["items"][0]["link"] == f"/books/{book.id}"
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert read_again.get_json()["read_at"] == read.get_json()["read_at"]
    assert stranger.status_code == 404
    assert after["unread_notifications"] == 1


def test_back_in_stock_is_told_once(client, app):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book("Gone", on_hand=0)

    asked = client.post(f"/api/v1/books/{book.id}/notify-me", headers=headers)
    asked_twice = client.post(f"/api/v1/books/{book.id}/notify-me", headers=headers)
    nothing_yet = back_in_stock.tell_waiting()
    db.session.execute(update(Stock).where(Stock.book_id == book.id).values(on_hand=3))
    db.session.commit()
    told = back_in_stock.tell_waiting()
    told_again = back_in_stock.tell_waiting()
    missing = client.post(
        "/api/v1/books/00000000-0000-0000-0000-000000000000/notify-me", headers=headers
    )

    assert asked.status_code == 202 and asked.get_json()["in_stock"] is False
    assert asked_twice.status_code == 202
    assert nothing_yet == (0, [])
    assert told[0] == 1 and len(told[1]) == 1
    assert told_again == (0, [])
    assert missing.status_code == 404
    assert (
        db.session.scalar(
            select(func.count(NotificationEvent.id)).where(
                NotificationEvent.event == "back_in_stock", NotificationEvent.user_id == user.id
            )
        )
        == 1
    )


def test_registration_records_one_welcome_per_account(client, app):
    body = {"email": "new.reader@example.com", "password": "a long passphrase 42", "name": "New"}

    first = client.post("/api/v1/auth/register", json=body)
    second = client.post("/api/v1/auth/register", json=body)

    assert first.status_code == 201 and second.status_code == 409
    welcomes = db.session.scalars(
        select(NotificationEvent.dedupe_key).where(NotificationEvent.event == "welcome")
    ).all()
    assert welcomes == [f"welcome:{first.get_json()['id']}"]
