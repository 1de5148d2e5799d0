"""Nothing is lost: a worker killed in the middle of a step, and a broker down at checkout."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from app import create_app
from models import Notification, OutboxMessage, Payment, StockMovement, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def sole_worker(app, worker):
    """Stop the session worker for this test (so only the test's own workers take tasks),
    and start it again afterwards."""
    worker.stop()
    yield
    worker.start()


def _order_row_locked(engine, order_id: str) -> bool:
    """True while another transaction holds the order row (a step is running on it)."""
    with engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '50ms'"))
        try:
            conn.execute(
                text("SELECT 1 FROM orders WHERE id = :id FOR UPDATE NOWAIT"), {"id": order_id}
            )
            return False
        except OperationalError:
            return True
        finally:
            conn.rollback()


def _step_status(client, headers, order_id: str, index: int) -> str:
    order = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    return order["timeline"][index]["status"]


def _payment_status(order_id: str) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(Payment.status).where(Payment.order_id == uuid.UUID(order_id)))


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_a_worker_killed_mid_payment_loses_nothing_and_repeats_nothing(
    app, committed, sole_worker, engine, monkeypatch
):
    monkeypatch.setenv("PAYMENT_DUMMY_SLOW_SECONDS", "5")
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book(on_hand=3)
    client = app.test_client()
    add_to_cart(client, headers, book, 1)
    doomed = WorkerProcess(app.extensions["celery"], name="doomed")
    doomed.start()
    try:
        # Given a payment step that is slow only because of its data (the slow test card)
        order_id = check_out(client, headers, payment_method="pm_card_visa_slow").get_json()["id"]
        assert wait_until(lambda: _step_status(client, headers, order_id, 0) == "succeeded")
        # The intent is recorded and the provider is being asked, without the order row
        # locked meanwhile (a cancel or a webhook is not kept waiting by the provider).
        assert wait_until(lambda: _payment_status(order_id) == "pending", timeout=10)
        assert not _order_row_locked(engine, order_id)
        # When the worker dies with SIGKILL while capture_payment waits for the provider
        doomed.kill()
    finally:
        doomed.kill()
    assert _payment_status(order_id) == "pending"  # the answer was never applied
    rescuer = WorkerProcess(app.extensions["celery"], name="rescuer")
    rescuer.start()
    try:
        # Then a new worker finishes the order, and every effect happened once
        order = wait_for_order(client, headers, order_id, timeout=60)
        assert order["status"] == "confirmed", order["timeline"]
        reasons = db.session.scalars(
            select(StockMovement.reason).where(StockMovement.reference == order_id)
        ).all()
        assert sorted(reasons) == ["reserve", "sale"]
        assert _count(Payment, order_id=uuid.UUID(order_id)) == 1
        steps = {entry["step"]: entry for entry in order["timeline"]}
        assert steps["reserve_stock"]["attempts"] == 1
        assert steps["capture_payment"]["status"] == "succeeded"
        assert wait_until(lambda: _count(Notification, dedupe_key=f"order:{order_id}:confirmed"))
        assert _count(Notification, user_id=user.id) == 1
        with engine.connect() as conn:
            assert ledger_drift(conn) == []
    finally:
        rescuer.stop()


def test_an_order_placed_while_the_broker_is_down_completes_once_it_is_back(
    app, committed, worker, engine, monkeypatch
):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=2)
    # Given an API whose broker is unreachable (a closed port). Celery reads the broker URL
    # from the CELERY_BROKER_URL environment variable before its config, so set both.
    closed = "amqp://guest:guest@127.0.0.1:1//"
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    offline = create_app(
        {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "CELERY_BROKER_URL": closed}
    )
    # The rest of the suite keeps the real broker.
    app.extensions["celery"].set_default()
    app.extensions["celery"].set_current()
    client = offline.test_client()
    add_to_cart(client, headers, book, 1)

    # When the shopper checks out
    placed = check_out(client, headers)
    monkeypatch.undo()

    # Then the order is accepted and its work is recorded, unsent
    assert placed.status_code == 202
    order_id = placed.get_json()["id"]
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.payload == {"order_id": order_id}
    assert message.sent_at is None and message.attempts == 1
    assert "OperationalError" in message.last_error
    # And once the relay runs against the real broker, the order completes
    db.session.execute(text("UPDATE outbox SET created_at = now() - interval '1 minute'"))
    db.session.commit()
    relayed = app.extensions["celery"].send_task("tasks.maintenance.relay_outbox")
    assert relayed.get(timeout=30) == 1
    order = wait_for_order(app.test_client(), headers, order_id)
    assert order["status"] == "confirmed"
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).sent_at is not None


def test_a_chain_sent_twice_runs_each_step_once(app, committed, worker, engine):
    from tasks.chains import order_placement_chain
    from tests.support.orders import wait_for_idle_workers

    headers = auth_headers(app, make_user())
    book = make_book(on_hand=3)
    client = app.test_client()
    add_to_cart(client, headers, book, 1)
    order_id = wait_for_order(client, headers, check_out(client, headers).get_json()["id"])["id"]
    wait_for_idle_workers(app.extensions["celery"])
    before = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()["timeline"]

    # When the relay sends the same recorded work again (e.g. its first send was not marked)
    order_placement_chain(app.extensions["celery"], order_id).apply_async()
    wait_for_idle_workers(app.extensions["celery"])

    # Then no step did its work a second time
    after = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()["timeline"]
    assert after == before
    reasons = db.session.scalars(
        select(StockMovement.reason).where(StockMovement.reference == order_id)
    ).all()
    assert sorted(reasons) == ["reserve", "sale"]
    assert _count(Payment, order_id=uuid.UUID(order_id)) == 1
    assert _count(Notification, dedupe_key=f"order:{order_id}:confirmed") == 1
    with engine.connect() as conn:
        assert ledger_drift(conn) == []
