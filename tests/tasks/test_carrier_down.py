"""A carrier that is down delays the parcel's label, never the shopper's confirmation: the
chain's request_shipment runs beside the confirmation mail, not before it."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from sqlalchemy import select

from models import Notification, OrderStep, Shipment, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.workers import WorkerProcess
from workers import QUEUES

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def carrier_down(app, committed, worker):
    """A worker whose http carrier is a closed port; the session worker stops consuming
    meanwhile."""
    control = app.extensions["celery"].control
    paused = [worker.hostname.replace("%h", os.uname().nodename)]
    for queue in QUEUES:
        control.cancel_consumer(queue, destination=paused, reply=True)
    config = {
        "CARRIER": "http",
        "CARRIER_API_BASE": f"http://127.0.0.1:{_closed_port()}",
        "CARRIER_API_KEY": "carrier-down-test",
        "CARRIER_WEBHOOK_SECRET": "carrier-down-test-secret",
    }
    process = WorkerProcess(app.extensions["celery"], name="carrier-down", env=config)
    process.start()
    try:
        yield
    finally:
        process.stop()
        for queue in QUEUES:
            control.add_consumer(queue, destination=paused, reply=True)


def _confirmation_sent(order_id: str) -> bool:
    db.session.expire_all()
    sent = db.session.scalar(
        select(Notification.id).where(
            Notification.dedupe_key.like(f"order:{order_id}:confirmed%"),
            Notification.status == "sent",
        )
    )
    db.session.commit()
    return sent is not None


def _shipment_step(order_id: str) -> OrderStep:
    db.session.expire_all()
    step = db.session.scalars(
        select(OrderStep).where(
            OrderStep.order_id == uuid.UUID(order_id), OrderStep.step == "request_shipment"
        )
    ).one()
    db.session.commit()
    return step


def test_the_confirmation_mail_does_not_wait_for_a_carrier_that_is_down(app, carrier_down):
    shop = app.test_client()
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(on_hand=2))
    order = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])
    assert order["status"] == "confirmed", order["timeline"]

    # The shopper is told, while the carrier call fails and is tried again.
    assert wait_until(lambda: _confirmation_sent(order["id"]), timeout=30), order["timeline"]
    assert wait_until(lambda: _shipment_step(order["id"]).attempts >= 1, timeout=30)
    step = _shipment_step(order["id"])
    assert step.status != "succeeded" and step.error, (step.status, step.error)
    label = db.session.scalar(
        select(Shipment.tracking_number).where(Shipment.order_id == uuid.UUID(order["id"]))
    )
    db.session.commit()
    assert label is None
