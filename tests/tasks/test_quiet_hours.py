"""Quiet hours on a real worker: inside the user's window an order update goes out by e-mail
and in-app at once while SMS (moto's SNS) and web push (the local push peer) are held; an
urgent payment notice is texted and pushed at once; when the window is over the release
sweep sends what was held, once."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from models import NotificationDelivery, NotificationEvent, UserPhone, db
from services.notifications import events
from tasks.chains import send_recorded
from tests.factories import auth_headers, make_book, make_user
from tests.services.notifications.test_web_push import vapid_pem
from tests.support.orders import wait_until
from tests.support.push_peer import PushPeer
from tests.support.recommendations import delivered_order
from tests.support.workers import WorkerProcess
from workers import QUEUES

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]
PHONE = "+14155552671"
ZONE = "America/New_York"


@pytest.fixture(scope="module")
def channel_worker(app, worker, moto_server):
    """A worker whose SMS go to moto and whose pushes may reach the local peer; the session's
    worker stops consuming meanwhile. Yields the peer."""
    key = vapid_pem()
    settings = {"WEBPUSH_VAPID_PRIVATE_KEY": key, "AWS_ENDPOINT_URL": moto_server}
    saved = {name: app.config.get(name) for name in (*settings, "WEBPUSH_EXTRA_ORIGINS")}
    app.config.update(settings)
    public = app.test_client().get("/api/v1/push/vapid-public-key").get_json()["public_key"]
    peer = PushPeer(public).start()
    app.config["WEBPUSH_EXTRA_ORIGINS"] = peer.base
    control = app.extensions["celery"].control
    paused = [worker.hostname.replace("%h", os.uname().nodename)]
    for queue in QUEUES:
        control.cancel_consumer(queue, destination=paused, reply=True)
    process = WorkerProcess(
        app.extensions["celery"],
        name="channels",
        env={**settings, "WEBPUSH_EXTRA_ORIGINS": peer.base},
    )
    process.start()
    try:
        yield peer
    finally:
        process.stop()
        for queue in QUEUES:
            control.add_consumer(queue, destination=paused, reply=True)
        peer.stop()
        app.config.update(saved)


def _texts() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    messages = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    return [text for phone, text in messages if phone == PHONE]


def _log(event_key: str) -> dict[str, tuple[str, datetime | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(
            NotificationDelivery.channel,
            NotificationDelivery.status,
            NotificationDelivery.hold_until,
        )
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationEvent.dedupe_key == event_key)
    ).all()
    db.session.commit()
    return {channel: (status, hold_until) for channel, status, hold_until in rows}


def _settled(event_key: str):
    log = _log(event_key)
    return log if len(log) == 4 and all(s != "queued" for s, _ in log.values()) else None


def test_quiet_hours_hold_sms_and_push_until_the_window_ends(app, committed, aws, channel_worker):
    celery = app.extensions["celery"]
    client = app.test_client()
    user = make_user()
    headers = auth_headers(app, user)
    db.session.add(UserPhone(user_id=user.id, phone_e164=PHONE, verified_at=datetime.now(UTC)))
    db.session.commit()
    browser, subscription = channel_worker.subscribe()
    assert (
        client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)
    ).status_code == 201
    # A two-hour window around now, in the user's zone (wall clock, minutes).
    local = datetime.now(ZoneInfo(ZONE))
    quiet = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
        "tz": ZONE,
    }
    preferences = client.put(
        "/api/v1/me/notification-preferences",
        json={"order_updates": {"sms": True}, "quiet_hours": quiet},
        headers=headers,
    )
    assert preferences.status_code == 200
    order = delivered_order(user, make_book("Quiet Book"))
    shipped_key, failed_key = f"quiet:{order.id}:shipped", f"quiet:{order.id}:payment_failed"
    context = {"order_id": str(order.id)}
    outbox_ids = [
        events.notify("order_shipped", user.id, context, shipped_key),
        events.notify("payment_failed", user.id, context, failed_key),
    ]
    db.session.commit()

    send_recorded(celery, outbox_ids)
    shipped = wait_until(lambda: _settled(shipped_key))
    failed = wait_until(lambda: _settled(failed_key))

    # Inside the window: e-mail and in-app at once, SMS and push held to the window's end.
    assert {channel: status for channel, (status, _) in shipped.items()} == {
        "email": "sent",
        "in_app": "sent",
        "sms": "held",
        "web_push": "held",
    }
    window_end = shipped["sms"][1]
    expected_end = (local + timedelta(hours=1)).replace(second=0, microsecond=0)
    assert window_end == expected_end.astimezone(UTC)
    # The urgent payment notice ignores quiet hours.
    assert {channel: status for channel, (status, _) in failed.items()} == dict.fromkeys(
        ("email", "in_app", "sms", "web_push"), "sent"
    )
    assert len(_texts()) == 1 and "Payment failed" in _texts()[0]
    assert [message["event"] for message in browser.received] == ["payment_failed"]

    # A sweep before the window ends releases nothing.
    assert celery.send_task("tasks.notifications.release_held").get(timeout=30) == 0
    # The window ends (its end moved to the past: the test cannot wait an hour).
    db.session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.status == "held")
        .values(hold_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    released = celery.send_task("tasks.notifications.release_held").get(timeout=30)
    again = celery.send_task("tasks.notifications.release_held").get(timeout=30)
    after = wait_until(
        lambda: _settled(shipped_key) if _log(shipped_key)["sms"][0] != "held" else None
    )

    assert (released, again) == (2, 0)
    assert {channel: status for channel, (status, _) in after.items()} == dict.fromkeys(
        ("email", "in_app", "sms", "web_push"), "sent"
    )
    assert len(_texts()) == 2 and "on its way" in _texts()[1]
    assert wait_until(lambda: len(browser.received) == 2)
    assert [message["event"] for message in browser.received] == [
        "payment_failed",
        "order_shipped",
    ]
    assert channel_worker.refused == []
