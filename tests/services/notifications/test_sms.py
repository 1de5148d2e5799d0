"""The SMS channel through Amazon SNS on moto's server: a phone validated and verified by a
texted code, then an order notification texted once on the SMS channel."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import NotificationDelivery, NotificationEvent, UserPhone, db
from services.notifications import channels, events, preferences
from tests.factories import auth_headers, make_book, make_user


def _texts():
    """What moto's SNS sent (the peer runs in this process: read its state)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


@pytest.fixture
def sns(app, aws, monkeypatch):
    monkeypatch.setitem(app.config, "AWS_ENDPOINT_URL", aws)
    return {**app.config, "AWS_ENDPOINT_URL": aws}


def test_a_verified_phone_gets_the_sms_channel(client, app, sns):
    user = make_user()
    headers = auth_headers(app, user)

    invalid = client.put("/api/v1/me/phone", json={"phone": "12"}, headers=headers)
    started = client.put("/api/v1/me/phone", json={"phone": "(415) 555-2671"}, headers=headers)
    [(phone, text)] = _texts()
    code = re.search(r"\d{6}", text).group()
    wrong = client.post("/api/v1/me/phone/verify", json={"code": "000000"}, headers=headers)
    verified = client.post("/api/v1/me/phone/verify", json={"code": code}, headers=headers)
    client.put(
        "/api/v1/me/notification-preferences",
        json={"back_in_stock": {"sms": True}},
        headers=headers,
    )
    book = make_book("Texted")
    key = f"back_in_stock:sms:{user.id}"
    events.notify("back_in_stock", user.id, {"book_id": str(book.id), "title": "Texted"}, key)
    db.session.commit()
    event_id = db.session.scalar(
        select(NotificationEvent.id).where(NotificationEvent.dedupe_key == key)
    )
    queued = dict((channel, delivery) for delivery, channel in events.fan_out(event_id))
    first = channels.deliver(queued["sms"], sns)
    again = channels.deliver(queued["sms"], sns)

    assert invalid.status_code == 422 and invalid.get_json()["error"] == "invalid_phone"
    assert started.status_code == 202 and started.get_json() == {
        "phone": "+14155552671",
        "verified": False,
    }
    assert phone == "+14155552671"
    assert wrong.status_code == 409 and wrong.get_json()["error"] == "invalid_phone_code"
    assert verified.get_json() == {"phone": "+14155552671", "verified": True}
    assert set(queued) == {"email", "in_app", "sms"}
    assert (first, again) == ("sent", "sent")
    texts = _texts()
    assert len(texts) == 2
    assert texts[1][0] == "+14155552671" and "Texted is back in stock" in texts[1][1]
    status = db.session.scalar(
        select(NotificationDelivery.status).where(NotificationDelivery.id == queued["sms"])
    )
    assert status == "sent"


def test_without_a_verified_phone_sms_is_skipped(client, app, sns):
    user = make_user()
    headers = auth_headers(app, user)
    client.put(
        "/api/v1/me/notification-preferences",
        json={"back_in_stock": {"sms": True}},
        headers=headers,
    )
    key = f"welcome-like:{user.id}"
    events.notify("back_in_stock", user.id, {"title": "X"}, key)
    db.session.commit()
    event_id = db.session.scalar(
        select(NotificationEvent.id).where(NotificationEvent.dedupe_key == key)
    )
    events.fan_out(event_id)

    reason = db.session.scalar(
        select(NotificationDelivery.reason).where(
            NotificationDelivery.event_id == event_id, NotificationDelivery.channel == "sms"
        )
    )
    assert reason == "no_verified_phone"
    assert _texts() == []


def test_phone_changes_and_code_checks_are_rate_limited_per_user(client, app, sns, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_PHONE", "2 per hour")
    monkeypatch.setitem(app.config, "RATE_LIMIT_PHONE_VERIFY", "3 per hour")
    headers = auth_headers(app, make_user())
    other = auth_headers(app, make_user())

    puts = [
        client.put("/api/v1/me/phone", json={"phone": "(415) 555-2671"}, headers=headers)
        for _ in range(3)
    ]
    guesses = [
        client.post("/api/v1/me/phone/verify", json={"code": f"{n:06d}"}, headers=headers)
        for n in range(4)
    ]
    others_put = client.put("/api/v1/me/phone", json={"phone": "(415) 555-2672"}, headers=other)
    others_guess = client.post("/api/v1/me/phone/verify", json={"code": "000000"}, headers=other)

    assert [answer.status_code for answer in puts] == [202, 202, 429]
    assert puts[2].get_json()["error"] == "rate_limited"
    mine = [text for phone, text in _texts() if phone == "+14155552671"]
    assert len(mine) == 2  # the refused change texted nothing
    assert [answer.status_code for answer in guesses] == [409, 409, 409, 429]
    # even the right code is refused once the guesses are spent
    code = re.search(r"\d{6}", mine[-1]).group()
    late = client.post("/api/v1/me/phone/verify", json={"code": code}, headers=headers)
    assert late.status_code == 429
    assert (others_put.status_code, others_guess.status_code) == (202, 409)


def test_a_delivery_run_many_times_at_once_texts_once(app, committed, sns):
    """Duplicate channel tasks (a redelivered dispatcher, the relay and the task both sending
    an event) may run the same SMS delivery at the same moment: one text goes out."""
    user = make_user()
    db.session.add(
        UserPhone(user_id=user.id, phone_e164="+14155552671", verified_at=datetime.now(UTC))
    )
    preferences.update(user, {"back_in_stock": {"sms": True}})
    key = f"back_in_stock:race:{user.id}"
    events.notify("back_in_stock", user.id, {"title": "Raced"}, key)
    db.session.commit()
    event_id = db.session.scalar(
        select(NotificationEvent.id).where(NotificationEvent.dedupe_key == key)
    )
    sms_delivery = dict((c, d) for d, c in events.fan_out(event_id))["sms"]
    db.session.remove()
    runs = 8
    barrier = threading.Barrier(runs)
    outcomes: list[str | None] = []

    def run() -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(channels.deliver(sms_delivery, sns))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(outcomes) == runs and "sent" in outcomes
    assert set(outcomes) <= {"sent", "sending"}
    assert [text for _, text in _texts()] == ["Bookstore: Back in stock. Raced is back in stock."]
    row = db.session.get(NotificationDelivery, sms_delivery)
    assert (row.status, row.attempts) == ("sent", 1)
