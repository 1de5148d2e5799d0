"""Helpers for shipping tests: a labelled order, and signed simulated-carrier webhooks."""

from __future__ import annotations

import contextlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from models import Cart, Order, db
from services.orders import placement
from services.shipping.carriers import CarrierEvent
from services.shipping.simulated import SimulatedCarrier
from tests.factories import make_book
from tests.support.orders import add_to_cart, check_out

WEBHOOK = "/api/v1/webhooks/shipping/simulated"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def carrier(app) -> SimulatedCarrier:
    return SimulatedCarrier.from_settings({**app.config, "CARRIER_SIMULATION_EXCEPTION_PERCENT": 0})


def labelled_order(client, app, headers, adapter=None) -> tuple[str, str]:
    """A confirmed order whose shipment ``adapter`` (default: the simulated carrier) labelled
    (the chain's request_shipment step, run in-process). Returns (order id, tracking number)."""
    add_to_cart(client, headers, make_book())
    order_id = check_out(client, headers).get_json()["id"]
    db.session.execute(update(Cart).values(status="converted"))
    db.session.execute(
        update(Order).where(Order.id == uuid.UUID(order_id)).values(status="confirmed")
    )
    db.session.commit()
    placement.request_shipment(uuid.UUID(order_id), carrier=adapter or carrier(app))
    order = db.session.get(Order, uuid.UUID(order_id))
    return order_id, order.shipment.tracking_number


def event(
    tracking_number: str,
    status: str,
    minutes: int,
    event_id: str | None = None,
    description: str | None = None,
):
    return CarrierEvent(
        event_id=event_id or f"{tracking_number}-{status}-{minutes}",
        tracking_number=tracking_number,
        status=status,
        occurred_at=T0 + timedelta(minutes=minutes),
        location="Somewhere",
        description=description or status.replace("_", " "),
    )


def post_events(client, app, events, sign_with: SimulatedCarrier | None = None):
    adapter = sign_with or carrier(app)
    body = adapter.body(list(events))
    return client.post(WEBHOOK, data=body, headers=adapter.sign(body))


@contextlib.contextmanager
def live_api(app):
    """The app served over real HTTP on 127.0.0.1 (a free port) in a thread: the simulated
    carrier in the worker POSTs its webhooks here. Yields the base URL."""
    from werkzeug.serving import make_server

    from tests.support.aws import free_port

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
