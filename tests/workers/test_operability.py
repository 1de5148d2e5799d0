"""Following one order through every process: a checkout's request id in the API's and the
worker's JSON log lines, a stopped step's reason in the result backend, and the business
metrics after a confirmed, a declined and a rejected order (one observed worker)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from app import create_app
from models import db
from services.inventory import stock as inventory
from services.observability import tracing
from services.observability.logs import ContextFilter, json_formatter
from tasks import chains
from tests.factories import auth_headers, make_book, make_user
from tests.support.observability import (
    alert_queries,
    dashboard_queries,
    json_lines,
    metric_names,
    metrics_named_in,
    observed_worker,
    samples,
    value,
)
from tests.support.orders import add_to_cart, check_out, wait_for_idle_workers, wait_for_order
from tests.support.otlp import OtlpReceiver
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.worker]

# The tasks an order's flow runs (confirm_order also records the books for the search
# queue's batch, which the reindex task then applies).
STEP_TASKS = (
    chains.RESERVE_STOCK,
    chains.CAPTURE_PAYMENT,
    chains.CONFIRM_ORDER,
    chains.SEND_ORDER_EMAIL,
    chains.REQUEST_SHIPMENT,
    chains.REINDEX_BOOKS,
)


@pytest.fixture(scope="module")
def otlp():
    """Where the observed worker exports its spans (OTLP over HTTP)."""
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def observed(app, tmp_path_factory, otlp):
    tracing_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    folder = tmp_path_factory.mktemp("observed")
    with observed_worker(app.extensions["celery"], folder, tracing_env) as found:
        yield found


@pytest.fixture
def shop(app, committed, observed):
    yield app.test_client()
    wait_for_idle_workers(app.extensions["celery"])


@pytest.fixture
def api_log():
    """The API's own JSON log lines (what LOG_FORMAT=json prints), at INFO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def _order(
    shop, app, payment_method="pm_card_visa", on_hand=5, quantity=1, request_id=None, damaged=0
):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book("Observed", price_cents=900, on_hand=on_hand)
    add_to_cart(shop, headers, book, quantity)
    if damaged:  # copies lost after the cart took them (the cart refuses more than available)
        inventory.adjust(book.id, -damaged, "damaged")
        db.session.commit()
    extra = {"X-Request-ID": request_id} if request_id else {}
    placed = check_out(shop, {**headers, **extra}, payment_method=payment_method)
    assert placed.status_code == 202, placed.get_json()
    return user, headers, placed.get_json()["id"]


def test_one_request_id_follows_a_checkout_from_the_api_through_every_worker_step(
    shop, app, observed, api_log
):
    _, log_file, _ = observed
    # Given a shopper checking out under a request id of their own
    request_id = "req-follow-me-1"
    user, headers, order_id = _order(shop, app, request_id=request_id)

    # When the worker has run the whole chain
    assert wait_for_order(shop, headers, order_id)["status"] == "confirmed"

    def worker_lines():
        lines = [r for r in json_lines(log_file) if r.get("request_id") == request_id]
        done = {r.get("task_name") for r in lines if r.get("outcome") == "success"}
        return (
            lines
            if {f"tasks.orders.{s}" for s in ("confirm_order",)} <= done
            and ("tasks.email.send_order_email" in done)
            else None
        )

    worker = wait_for(worker_lines, timeout=30)

    # Then the API's lines carry the request id, the user and (the access line) the order
    api = [r for r in _records(api_log) if r.get("request_id") == request_id]
    access = [r for r in api if r["logger"] == "bookstore.access"]
    assert len(access) == 1 and access[0]["path"] == "/api/v1/checkout"
    assert access[0]["order_id"] == order_id and access[0]["user_id"] == str(user.id)
    number = shop.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()["number"]
    assert access[0]["order_number"] == number and number.startswith("BK-")
    assert access[0]["status"] == 202
    # And every step ran in the worker under the same request id and order, with its task
    finished = {r["task_name"]: r for r in worker if r.get("outcome")}
    for step in ("tasks.orders.reserve_stock", "tasks.payments.capture_payment"):
        assert finished[step]["order_id"] == order_id
        assert finished[step]["attempt"] == 1 and finished[step]["task_id"]
    assert finished["tasks.payments.capture_payment"]["queue"] == "payments"
    assert finished["tasks.email.send_order_email"]["queue"] == "email"
    confirmed = [r for r in worker if r.get("event") == "order_confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["order_id"] == order_id
    assert confirmed[0]["order_number"] == number
    # And the worker is another process than the API
    assert {r["pid"] for r in worker}.isdisjoint({r["pid"] for r in api})


def test_a_declined_payment_stops_with_its_reason_in_the_result_backend(shop, app, observed):
    _, log_file, _ = observed
    # Given an order paid with a card the provider declines
    _, headers, order_id = _order(shop, app, payment_method="pm_card_chargeDeclined")

    # When the chain has stopped
    order = wait_for_order(shop, headers, order_id)
    assert order["status"] == "payment_failed"

    # Then the capture step's result names the outcome, the status and the reason
    def stopped_result():
        lines = json_lines(log_file)
        return next(
            (
                r["task_id"]
                for r in lines
                if r.get("order_id") == order_id
                and r.get("task_name") == "tasks.payments.capture_payment"
                and r.get("outcome") == "domain_stop"
            ),
            None,
        )

    task_id = wait_for(stopped_result)
    result = app.extensions["celery"].AsyncResult(task_id)
    assert result.state == "SUCCESS"
    assert result.result == {
        "outcome": "stopped",
        "order_status": "payment_failed",
        "reason": "payment_declined",
    }
    assert order["status_reason"] == "payment_declined"
    # And the decline is logged once, as a warning, with the order
    declines = [r for r in json_lines(log_file) if r.get("event") == "payment_declined"]
    assert [(r["order_id"], r["level"]) for r in declines] == [(order_id, "WARNING")]
    assert declines[0]["order_number"] == order["number"]


def test_metrics_count_orders_by_outcome_after_a_visa_a_declined_and_a_rejected_order(
    shop, app, observed, monkeypatch
):
    _, _, metrics_dir = observed
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    before = samples(shop.get("/metrics").get_data(as_text=True))

    # Given a confirmed, a declined and a rejected order
    outcomes = []
    for method, on_hand, quantity, damaged in (
        ("pm_card_visa", 5, 1, 0),
        ("pm_card_chargeDeclined", 5, 1, 0),
        ("pm_card_visa", 2, 2, 1),
    ):
        _, headers, order_id = _order(shop, app, method, on_hand, quantity, damaged=damaged)
        outcomes.append(wait_for_order(shop, headers, order_id)["status"])
    assert outcomes == ["confirmed", "payment_failed", "rejected"]
    wait_for_idle_workers(app.extensions["celery"])

    # When /metrics is scraped
    after = samples(shop.get("/metrics").get_data(as_text=True))

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    # Then the orders are counted by outcome, with the reasons
    assert grew("bookstore_orders_total", status="confirmed") == 1
    assert grew("bookstore_orders_total", status="payment_failed") == 1
    assert grew("bookstore_orders_total", status="rejected") == 1
    assert grew("bookstore_payment_declines_total", code="payment_declined") == 1
    assert grew("bookstore_stock_reservation_rejections_total") == 1
    assert grew("bookstore_checkout_to_confirmed_seconds_count") == 1
    assert grew("bookstore_order_step_seconds_count", step="reserve_stock") == 3
    # And the tasks by outcome: three reservations, two of them went on
    reserve = {"task": "tasks.orders.reserve_stock", "queue": "orders"}
    assert grew("bookstore_tasks_total", **reserve, outcome="success") == 2
    assert grew("bookstore_tasks_total", **reserve, outcome="domain_stop") == 1
    capture = {"task": "tasks.payments.capture_payment", "queue": "payments"}
    assert grew("bookstore_tasks_total", **capture, outcome="domain_stop") == 1
    # And every queue has a depth and a consumer count read from the broker
    for queue in ("orders", "payments", "email", "search", "maintenance", "default"):
        assert ("bookstore_queue_depth", (("queue", queue),)) in after
        assert ("bookstore_queue_consumers", (("queue", queue),)) in after
    assert value(after, "bookstore_queue_consumers", queue="orders") >= 1
    assert ("bookstore_outbox_backlog", ()) in after


def test_every_dashboard_and_alert_query_names_a_metric_of_a_live_scrape(
    shop, app, observed, monkeypatch
):
    _, _, metrics_dir = observed
    # Given some traffic: catalog reads (a miss, then a hit) and a confirmed order
    for _ in range(2):
        assert shop.get("/api/v1/books").status_code == 200
    _, headers, order_id = _order(shop, app)
    assert wait_for_order(shop, headers, order_id)["status"] == "confirmed"
    wait_for_idle_workers(app.extensions["celery"])

    # When /metrics is scraped: this process's samples (the API), and with the worker's
    # multiprocess folder (as gunicorn and the workers share one on a host)
    api = shop.get("/metrics").get_data(as_text=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    workers = shop.get("/metrics").get_data(as_text=True)
    live = metric_names(api) | metric_names(workers)

    # Then every metric the dashboard and the alerts query exists
    assert metrics_named_in(dashboard_queries()) - live == set()
    assert metrics_named_in(alert_queries()) - live == set()


def test_work_recorded_while_the_broker_is_down_shows_as_backlog_and_keeps_its_request_id(
    shop, app, observed, monkeypatch
):
    _, log_file, _ = observed
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book("Offline", price_cents=700, on_hand=3)
    # Given an API whose broker is unreachable (Celery prefers the environment's URL)
    closed = "amqp://guest:guest@127.0.0.1:1//"
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    offline = create_app(
        {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "CELERY_BROKER_URL": closed}
    )
    app.extensions["celery"].set_default()
    app.extensions["celery"].set_current()
    client = offline.test_client()
    add_to_cart(client, headers, book, 1)

    # When a shopper checks out, the order's work stays in the outbox
    placed = check_out(client, {**headers, "X-Request-ID": "req-offline-1"})
    assert placed.status_code == 202
    order_id = placed.get_json()["id"]
    down = samples(client.get("/metrics").get_data(as_text=True))
    monkeypatch.undo()

    # Then /metrics says the broker is down and the outbox holds the work
    assert value(down, "bookstore_broker_up") == 0
    assert value(down, "bookstore_outbox_backlog") == 1

    # And once the relay sends it through the real broker, the backlog is gone and the
    # worker's lines for that order carry the request id of the checkout
    db.session.execute(text("UPDATE outbox SET created_at = now() - interval '1 minute'"))
    db.session.commit()
    relayed = app.extensions["celery"].send_task("tasks.maintenance.relay_outbox")
    assert relayed.get(timeout=30) == 1
    assert wait_for_order(shop, headers, order_id)["status"] == "confirmed"
    assert wait_for(
        lambda: (
            value(samples(shop.get("/metrics").get_data(as_text=True)), "bookstore_outbox_backlog")
            == 0
        )
    )
    steps = [
        r
        for r in json_lines(log_file)
        if r.get("order_id") == order_id and r.get("outcome") == "success"
    ]
    assert {r["request_id"] for r in steps} == {"req-offline-1"}
    relay = [r for r in json_lines(log_file) if r.get("logger") == "tasks.order_jobs"]
    assert relay and relay[-1]["sent"] == 1


@pytest.fixture
def traced_api(app, observed):
    """An API app traced into an in-memory exporter (this process), beside the session's."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": "bookstore-api"}))
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    app.extensions["celery"].set_default()
    app.extensions["celery"].set_current()
    try:
        yield traced, exporter
    finally:
        tracing.uninstrument()
        exporter.shutdown()


def test_one_trace_runs_from_post_checkout_through_every_step_and_its_queries(
    shop, app, traced_api, otlp
):
    traced, exporter = traced_api
    client = traced.test_client()
    # Given a shopper checking out through the traced API
    user = make_user()
    headers = auth_headers(app, user)
    add_to_cart(client, headers, make_book("Traced", price_cents=800, on_hand=3), 1)
    placed = check_out(client, headers)
    order_id = placed.get_json()["id"]
    assert wait_for_order(client, headers, order_id)["status"] == "confirmed"

    # Then the request's span starts a trace ...
    request = next(s for s in exporter.get_finished_spans() if s.name == "POST /api/v1/checkout")
    trace_id = format(request.context.trace_id, "032x")

    # ... that holds every step task the worker ran, each with its database spans
    steps = [f"run/{name}" for name in STEP_TASKS]

    def worker_spans():
        spans = otlp.spans_of(trace_id)
        return spans if {s["name"] for s in spans} >= set(steps) else None

    spans = wait_for(worker_spans, timeout=30)
    runs = {s["name"]: s for s in spans if s["name"] in steps}
    for name, run in runs.items():
        children = [s["name"] for s in spans if s["parent_span_id"] == run["span_id"]]
        queries = [c for c in children if not c.startswith(("run/", "apply_async/"))]
        assert queries, f"{name} has no database spans: {children}"
    assert {s["service"] for s in spans} == {"bookstore-celery"}
    published = [s.name for s in exporter.get_finished_spans() if s.name.startswith("apply_async")]
    assert published and all(
        s.context.trace_id == request.context.trace_id
        for s in exporter.get_finished_spans()
        if s.name.startswith("apply_async")
    )
