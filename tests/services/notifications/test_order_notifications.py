"""Order and review notifications go through the dispatcher: every channel the shopper chose,
none they turned off (SMS through moto's SNS); a guest's order is still e-mailed directly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from models import InAppNotification, Notification, NotificationEvent, Order, UserPhone, db
from services.notifications import events
from services.orders import lifecycle
from tests.factories import auth_headers, make_book, make_user
from tests.support.notifications import dispatch
from tests.support.recommendations import delivered_order


@pytest.fixture
def sns(app, aws, monkeypatch):
    monkeypatch.setitem(app.config, "AWS_ENDPOINT_URL", aws)
    return app.config


def _texts():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def test_order_events_respect_each_channel_preference(client, app, sns):
    texter = make_user()
    db.session.add(
        UserPhone(user_id=texter.id, phone_e164="+14155552671", verified_at=datetime.now(UTC))
    )
    db.session.commit()
    client.put(
        "/api/v1/me/notification-preferences",
        json={"order_updates": {"email": False, "sms": True, "in_app": True}},
        headers=auth_headers(app, texter),
    )
    default = make_user()
    texter_order = delivered_order(texter, make_book("Dune"))
    default_order = delivered_order(default, make_book("Emma"))

    for order, event in (
        (texter_order, "confirmed"),
        (texter_order, "payment_failed"),
        (default_order, "confirmed"),
        (default_order, "refunded:r1"),
        (default_order, "refunded:r2"),
    ):
        lifecycle.send_email(order.id, event)
    lifecycle.send_email(texter_order.id, "confirmed")  # a redelivered task records nothing new
    logs = {
        (order.user_id, event): dispatch(f"order:{order.id}:{event}", app.config)
        for order, event in (
            (texter_order, "confirmed"),
            (texter_order, "payment_failed"),
            (default_order, "confirmed"),
            (default_order, "refunded:r1"),
            (default_order, "refunded:r2"),
        )
    }

    texter_log = logs[(texter.id, "confirmed")]
    assert texter_log == {
        "email": ("skipped", "preference_off"),
        "sms": ("sent", None),
        "in_app": ("sent", None),
        "web_push": ("skipped", "preference_off"),
    }
    assert logs[(texter.id, "payment_failed")]["sms"] == ("sent", None)
    texts = [text for phone, text in _texts() if phone == "+14155552671"]
    assert len(texts) == 2 and "confirmed" in texts[0] and "Payment failed" in texts[1]
    assert logs[(default.id, "confirmed")] == {
        "email": ("sent", None),
        "sms": ("skipped", "preference_off"),
        "in_app": ("sent", None),
        "web_push": ("skipped", "preference_off"),
    }
    mails = db.session.execute(
        select(Notification.dedupe_key, Notification.template, Notification.status).where(
            Notification.user_id.in_([texter.id, default.id])
        )
    ).all()
    # The e-mail keys are the order mail's own: one per order event, one per refund.
    assert sorted(mails) == sorted(
        [
            (f"order:{default_order.id}:confirmed", "order_confirmed", "sent"),
            (f"order:{default_order.id}:refunded:r1", "order_refunded", "sent"),
            (f"order:{default_order.id}:refunded:r2", "order_refunded", "sent"),
        ]
    )
    inbox = db.session.scalars(
        select(InAppNotification.event).where(InAppNotification.user_id == texter.id)
    ).all()
    assert sorted(inbox) == ["order_confirmed", "payment_failed"]


def test_a_guest_order_is_mailed_directly_once(app, session):
    order = delivered_order(make_user(), make_book())
    order.user_id, order.email = None, "guest@example.com"
    db.session.commit()

    lifecycle.send_email(order.id, "confirmed")
    lifecycle.send_email(order.id, "confirmed")

    mails = db.session.execute(
        select(Notification.to_email, Notification.status).where(
            Notification.dedupe_key == f"order:{order.id}:confirmed"
        )
    ).all()
    assert mails == [("guest@example.com", "sent")]
    assert db.session.scalar(select(events.NotificationEvent.id).limit(1)) is None
    assert db.session.get(Order, uuid.UUID(str(order.id))).user_id is None


def test_fan_out_reads_preferences_once_and_writes_every_channel_in_one_statement(
    app, session, engine
):
    # Given a confirmation recorded for a shopper who never stored preferences
    order = delivered_order(make_user(), make_book("Dune"))
    lifecycle.send_email(order.id, "confirmed")
    event_id = db.session.scalar(
        select(NotificationEvent.id).where(
            NotificationEvent.dedupe_key == f"order:{order.id}:confirmed"
        )
    )

    # When the dispatcher fans it out
    statements = []

    def count(conn, cursor, statement, *_):
        if "SAVEPOINT" not in statement:  # the test's own transaction around the commit
            statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        queued = events.fan_out(event_id)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)

    # Then the default channels are queued
    assert sorted(channel for _, channel in queued) == ["email", "in_app"]
    # And it took five statements: the event, the preferences, the deliveries, the event
    # marked dispatched, the queued ones (eleven when the preferences were looked for once
    # per channel and each delivery inserted on its own)
    assert len(statements) <= 5, statements
