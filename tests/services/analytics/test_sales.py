"""Sales analytics: domain events written with the change, published to the events fanout
exchange, rolled up per hour; the staff report equals the sum of the orders."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime

from kombu import Queue
from sqlalchemy import func, select

from models import DomainEvent, Order, OrderLine, OrderStep, User, db
from services.analytics import publishing, sales
from services.orders import lifecycle, placement
from tests.factories import auth_headers, make_book, make_genre, make_user
from tests.support.orders import add_to_cart, check_out


def _place_and_confirm(client, app, books_and_quantities) -> str:
    user = make_user()
    headers = auth_headers(app, user)
    for book, quantity in books_and_quantities:
        add_to_cart(client, headers, book, quantity)
    order_id = uuid.UUID(check_out(client, headers).get_json()["id"])
    with app.app_context():  # the payment provider reads the app's settings
        for step in (placement.reserve_stock, placement.capture_payment, placement.confirm_order):
            step(order_id)
    return str(order_id), user


def _types(aggregate_id: str) -> list[str]:
    return list(
        db.session.scalars(
            select(DomainEvent.type)
            .where(DomainEvent.aggregate_id == aggregate_id)
            .order_by(DomainEvent.id)
        )
    )


def test_domain_events_commit_with_their_change_and_only_then(client, app):
    user_id = str(make_user().id)
    rolled_back = User(email="never@example.com", name="N", role="customer", password_hash="x")
    db.session.add(rolled_back)
    db.session.flush()  # the event row is flushed with the user...
    rolled_back_id = str(rolled_back.id)
    flushed = _types(rolled_back_id)
    db.session.rollback()  # ...and goes with it
    book = make_book("Events", price_cents=700, on_hand=5)
    order_id, _ = _place_and_confirm(client, app, [(book, 2)])

    assert _types(user_id) == ["user_registered"]
    assert flushed == ["user_registered"] and _types(rolled_back_id) == []
    assert _types(order_id) == ["order_placed", "order_confirmed"]
    confirmed = db.session.scalar(
        select(DomainEvent).where(
            DomainEvent.aggregate_id == order_id, DomainEvent.type == "order_confirmed"
        )
    )
    assert confirmed.schema_version == 1
    assert confirmed.payload["lines"] == [
        {"book_id": str(book.id), "title": "Events", "quantity": 2, "line_total_cents": 1400}
    ]


def test_events_are_published_to_the_fanout_exchange(client, app):
    book = make_book("Published", on_hand=3)
    order_id, _ = _place_and_confirm(client, app, [(book, 1)])
    celery_app = app.extensions["celery"]
    with celery_app.connection_for_write() as conn:
        queue = Queue(
            f"test-events-{uuid.uuid4().hex[:8]}",
            exchange=publishing.EVENTS_EXCHANGE,
            exclusive=True,
            auto_delete=True,
        )
        bound = queue(conn.default_channel)
        bound.declare()
        with celery_app.producer_or_acquire() as producer:
            published = publishing.publish_pending(producer)
        again = publishing.publish_pending(celery_app.amqp.Producer(conn.default_channel))
        messages = []
        while (message := bound.get(no_ack=True)) is not None:
            messages.append(message)

    assert published >= 3 and again == 0
    bodies = [json.loads(message.body) for message in messages]
    mine = [body for body in bodies if body["aggregate_id"] == order_id]
    assert [body["type"] for body in mine] == ["order_placed", "order_confirmed"]
    assert set(mine[1]) == {
        "event_id",
        "type",
        "schema_version",
        "aggregate_id",
        "occurred_at",
        "payload",
    }
    assert messages[0].headers["schema_version"] == 1
    assert messages[0].properties["message_id"] == bodies[0]["event_id"]


def test_the_sales_report_equals_the_sum_of_the_orders(client, app):
    fantasy, poetry = make_genre("fantasy"), make_genre("poetry")
    dragons = make_book("Dragons", price_cents=1250, on_hand=50, genres=[fantasy])
    odes = make_book("Odes", price_cents=800, on_hand=50, genres=[poetry])
    atlas = make_book("Atlas", price_cents=2999, on_hand=50)
    baskets = [
        [(dragons, 3)],
        [(dragons, 1), (odes, 2)],
        [(atlas, 1)],
        [(odes, 1), (atlas, 2), (dragons, 2)],
        [(dragons, 1)],
    ]
    placed = [_place_and_confirm(client, app, basket) for basket in baskets]
    cancelled_id, cancelled_user = placed[2]
    with app.app_context():
        lifecycle.cancel(uuid.UUID(cancelled_id), cancelled_user, None)
    staff = auth_headers(app, make_user("staff"))
    today = datetime.now(UTC).date().isoformat()

    rebuilt = sales.rollup()
    rebuilt_again = sales.rollup()
    day = client.get(f"/api/v1/admin/reports/sales?from={today}&to={today}", headers=staff)
    hourly = client.get(
        f"/api/v1/admin/reports/sales?from={today}&to={today}&granularity=hour", headers=staff
    )
    as_csv = client.get(
        f"/api/v1/admin/reports/sales?from={today}&to={today}",
        headers={**staff, "Accept": "text/csv"},
    )
    shopper = client.get(
        f"/api/v1/admin/reports/sales?from={today}&to={today}",
        headers=auth_headers(app, make_user()),
    )
    bad = client.get(
        f"/api/v1/admin/reports/sales?from={today}&to={today}&granularity=week", headers=staff
    )

    ids = [uuid.UUID(order_id) for order_id, _ in placed]
    confirmed = select(OrderStep.order_id).where(
        OrderStep.step == "confirm_order",
        OrderStep.status == "succeeded",
        OrderStep.order_id.in_(ids),
    )
    revenue, orders = db.session.execute(
        select(func.sum(Order.total_cents), func.count(Order.id)).where(Order.id.in_(confirmed))
    ).one()
    units = db.session.scalar(
        select(func.sum(OrderLine.quantity)).where(OrderLine.order_id.in_(confirmed))
    )
    refunded = db.session.get(Order, uuid.UUID(cancelled_id)).total_cents
    assert rebuilt >= 1 and rebuilt_again == 0
    assert day.status_code == 200, day.get_json()
    totals = day.get_json()["totals"]
    assert totals == {
        "revenue_cents": revenue,
        "orders": orders,
        "units": units,
        "average_order_value_cents": round(revenue / orders),
        "refunds": 1,
        "refunds_cents": refunded,
    }
    assert orders == 5 and units == 13
    assert sum(b["revenue_cents"] for b in hourly.get_json()["buckets"]) == revenue
    body = day.get_json()
    assert [(b["title"], b["units"]) for b in body["top_books"]][:3] == [
        ("Dragons", 7),
        ("Atlas", 3),
        ("Odes", 3),
    ] or [(b["title"], b["units"]) for b in body["top_books"]][:3] == [
        ("Dragons", 7),
        ("Odes", 3),
        ("Atlas", 3),
    ]
    assert [(g["genre"], g["units"]) for g in body["top_genres"]] == [
        ("fantasy", 7),
        ("poetry", 3),
    ]
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert int(row["revenue_cents"]) == revenue and int(row["orders"]) == orders
    assert shopper.status_code == 403 and bad.status_code == 422
