"""Concurrent checkouts with one Idempotency-Key place one order, processed once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import Order, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


def test_concurrent_requests_with_one_key_place_one_order(app, committed, worker):
    headers = auth_headers(app, make_user())
    add_to_cart(app.test_client(), headers, make_book(), 1)
    start = threading.Barrier(4)
    answers = []

    def post():
        client = app.test_client()
        start.wait()
        response = check_out(client, headers, key="same-key")
        answers.append((response.status_code, response.get_json()["id"]))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [code for code, _ in answers] == [202] * 4
    assert len({order_id for _, order_id in answers}) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    order = wait_for_order(app.test_client(), headers, answers[0][1])
    assert order["status"] == "confirmed"
