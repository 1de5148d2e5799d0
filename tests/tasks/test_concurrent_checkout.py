"""Many shoppers check out the last copies at once: no oversell, the ledger reconciles."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from models import Stock, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift
from tests.support.orders import add_to_cart, check_out, wait_for_order

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.usefixtures("idle_workers_at_end")]

SHOPPERS = 50
COPIES = 5


def test_fifty_concurrent_checkouts_for_five_copies_confirm_exactly_five(
    app, committed, worker, engine
):
    book = make_book("Last copies", on_hand=COPIES)
    shoppers = [auth_headers(app, make_user()) for _ in range(SHOPPERS)]
    setup = app.test_client()
    for headers in shoppers:
        add_to_cart(setup, headers, book, 1)
    start = threading.Barrier(SHOPPERS)
    answers: dict[int, tuple[int, str]] = {}

    def shop(index: int) -> None:
        client = app.test_client()
        start.wait()
        response = check_out(client, shoppers[index])
        answers[index] = (response.status_code, response.get_json().get("id"))

    threads = [threading.Thread(target=shop, args=(index,)) for index in range(SHOPPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(code for code, _ in answers.values()) == [202] * SHOPPERS
    final = [
        wait_for_order(setup, shoppers[index], order_id, timeout=90)["status"]
        for index, (_, order_id) in answers.items()
    ]
    assert Counter(final) == {"confirmed": COPIES, "rejected": SHOPPERS - COPIES}
    db.session.expire_all()
    stock = db.session.scalars(select(Stock).where(Stock.book_id == book.id)).one()
    assert (stock.on_hand, stock.reserved) == (0, 0)
    with engine.connect() as conn:
        assert ledger_drift(conn) == []
