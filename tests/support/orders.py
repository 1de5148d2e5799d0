"""Shopping helpers for tests: fill a cart over the API, check out, wait for an order."""

from __future__ import annotations

import time

FINAL_STATUSES = {"confirmed", "rejected", "payment_failed", "awaiting_payment", "cancelled"}
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "US",
}


def checkout_body(payment_method: str = "pm_card_visa", **fields) -> dict:
    return {
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment_method": payment_method,
        **fields,
    }


def add_to_cart(client, headers, book, quantity: int = 1):
    response = client.post(
        "/api/v1/cart/items", json={"book_id": str(book.id), "quantity": quantity}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response


def check_out(client, headers, payment_method: str = "pm_card_visa", key=None, **fields):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/api/v1/checkout",
        json=checkout_body(payment_method, **fields),
        headers={**headers, **extra},
    )


def wait_for_order(client, headers, order_id, statuses=FINAL_STATUSES, timeout: float = 30.0):
    """Poll GET /orders/{id} until its status is one of ``statuses`` (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


def queued_messages(celery_app) -> int:
    """Messages waiting in every queue of the broker."""
    from workers import QUEUES

    with celery_app.connection_for_read() as conn:
        channel = conn.default_channel
        return sum(channel.queue_declare(queue, passive=True).message_count for queue in QUEUES)


def wait_for_idle_workers(celery_app, timeout: float = 30.0) -> bool:
    """Until no queue holds a message and no worker runs or holds a task (twice in a row),
    so a test's leftover chain tails do not run into the next test's cleanup."""
    deadline = time.monotonic() + timeout
    quiet_checks = 0
    while time.monotonic() < deadline and quiet_checks < 2:
        inspect = celery_app.control.inspect(timeout=0.5)
        busy = [
            task
            for answer in ((inspect.active() or {}), (inspect.reserved() or {}))
            for tasks in answer.values()
            for task in tasks
        ]
        quiet_checks = quiet_checks + 1 if not busy and not queued_messages(celery_app) else 0
        time.sleep(0.1)
    return quiet_checks >= 2


def placement_steps() -> dict:
    """Each step of the placement flow as its task runs it (the step function, with the
    configured carrier and the confirmation mail), by timeline name, in chain order."""
    import functools

    from services.orders import lifecycle, placement
    from tasks.orders import _shipment_step

    return {
        "reserve_stock": placement.reserve_stock,
        "capture_payment": placement.capture_payment,
        "confirm_order": placement.confirm_order,
        "request_shipment": _shipment_step(),
        "reindex_books": placement.reindex_books,
        "send_order_email": functools.partial(
            placement.confirmation_email_step,
            send=functools.partial(lifecycle.send_email, event="confirmed"),
        ),
    }
