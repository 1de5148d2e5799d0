"""SQL statements and commits per order step, counted with SQLAlchemy events on the real
database: a regression guard (a new query in a step shows up here, not in production)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import event, select

from models import OrderStatus, OutboxMessage, StepStatus, db
from services.orders import checkout, placement
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, checkout_body, placement_steps

# Measured when the guard was written (see docs/performance.md); raise one only with a reason.
# (Savepoint statements count: reserve_stock and confirm_order each open one.)
STATEMENT_BUDGET = {
    "reserve_stock": 10,
    # the dummy provider; the provider is called outside the order lock: the attempt is
    # recorded, the call made, the outcome recorded, each in its own transaction (10 since
    # the order's lock reads its payment: no second look for it)
    "capture_payment": 10,
    "confirm_order": 16,
    "request_shipment": 5,
    "reindex_books": 5,
    "send_order_email": 4,
}
# Each step is its own transaction (the payment step: two around the provider call, its
# call guard's advisory lock taken and released in autocommit; the email step: read, send,
# mark).
COMMIT_BUDGET = {
    "reserve_stock": 1,
    "capture_payment": 2,
    "confirm_order": 1,
    "request_shipment": 1,
    "reindex_books": 1,
    "send_order_email": 3,
}


@pytest.fixture
def counted(engine):
    """Counts every statement and commit the engine's connections send, per label."""
    statements: Counter = Counter()
    commits: Counter = Counter()
    current = {"label": None}

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if current["label"]:
            statements[current["label"]] += 1

    def on_commit(conn):
        if current["label"]:
            commits[current["label"]] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield current, statements, commits
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def test_each_order_step_stays_within_its_statement_budget(app, committed, counted):

    current, statements, commits = counted
    # Given a placed order of two books (the chain not sent: the steps run here, in order)
    user = make_user()
    books = [make_book(on_hand=5), make_book(on_hand=5)]
    client, headers = app.test_client(), auth_headers(app, user)
    for book in books:
        add_to_cart(client, headers, book, 1)
    order_id = checkout.place_order(user, checkout_body(), None).order.id

    # When every step runs once, as the worker runs them
    with app.app_context():
        steps = placement_steps()
        for name, step in steps.items():
            db.session.remove()  # each task starts with a fresh session
            current["label"] = name
            result = step(order_id)
            current["label"] = None
            assert result.outcome is placement.Outcome.CONTINUE, name

    # Then the order went through, every step recorded on the timeline
    db.session.remove()
    order = placement.db.session.get(placement.Order, order_id)
    assert order.status == OrderStatus.CONFIRMED
    assert {step.step: step.status for step in order.steps} == dict.fromkeys(
        steps, StepStatus.SUCCEEDED
    )
    # And no step sent more statements or commits than its budget
    print("statements per step:", dict(statements), "commits:", dict(commits))
    for name in steps:
        assert 0 < statements[name] <= STATEMENT_BUDGET[name], (name, dict(statements))
        assert commits[name] <= COMMIT_BUDGET[name], (name, dict(commits))
    assert sum(statements.values()) <= sum(STATEMENT_BUDGET.values())


# POST /checkout by an account: the user, the cart, its lines, the books; the domain event,
# order, lines, steps, cart lock and outbox message; the outbox mark after the publish (the
# message is sent as recorded, not read back).
CHECKOUT_STATEMENTS = 11
CHECKOUT_COMMITS = 2  # the order, then the outbox mark once published


# The published chain may run on the session's worker (started by an earlier test): wait for
# it before the tables are emptied, or the TRUNCATE deadlocks with the worker's stock lock.
@pytest.mark.usefixtures("idle_workers_at_end")
def test_post_checkout_stays_within_its_statement_budget(app, committed, counted):
    current, statements, commits = counted
    # Given a shopper with two books in the cart
    user = make_user()
    client, headers = app.test_client(), auth_headers(app, user)
    for book in (make_book(on_hand=5), make_book(on_hand=5)):
        add_to_cart(client, headers, book, 1)

    # When the shopper checks out
    current["label"] = "checkout"
    response = client.post("/api/v1/checkout", json=checkout_body(), headers=headers)
    current["label"] = None

    # Then the order is accepted and its chain published (the outbox message marked sent)
    assert response.status_code == 202, response.get_json()
    db.session.remove()
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.payload["order_id"].astext == response.json["id"])
    ).one()
    assert message.sent_at is not None
    # And it took no more statements and commits than its budget
    print("checkout statements:", statements["checkout"], "commits:", commits["checkout"])
    assert statements["checkout"] <= CHECKOUT_STATEMENTS
    assert commits["checkout"] <= CHECKOUT_COMMITS
