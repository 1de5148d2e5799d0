"""Scrape-time readings: queue depth and consumers from the real broker, the outbox backlog
and its age, failed tasks, job periods; a reading is reused within its cache time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import Celery
from prometheus_client import CollectorRegistry, generate_latest

from models import OutboxMessage
from services.observability.gauges import ScrapeTimeGauges
from tests.support.observability import samples, value
from workers import QUEUES


def _scrape(gauges) -> dict:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)
    return samples(generate_latest(registry).decode())


def test_the_outbox_backlog_and_its_age_are_read_at_scrape_time(app, session):
    gauges = ScrapeTimeGauges(app.extensions["celery"], QUEUES, 0, {"heartbeat": 60.0})
    assert value(_scrape(gauges), "bookstore_outbox_backlog") == 0

    # Given two messages the broker never got, the older one 90 s old
    now = datetime.now(UTC)
    session.add_all(
        [
            OutboxMessage(kind="order_placed", payload={}, created_at=now - timedelta(seconds=90)),
            OutboxMessage(kind="order_email", payload={}, created_at=now),
        ]
    )
    session.flush()

    scrape = _scrape(gauges)

    assert value(scrape, "bookstore_outbox_backlog") == 2
    assert 89 < value(scrape, "bookstore_outbox_oldest_age_seconds") < 120
    assert value(scrape, "bookstore_job_period_seconds", job="heartbeat") == 60
    assert value(scrape, "bookstore_broker_up") == 1
    assert {
        queue for (name, labels) in scrape if name == "bookstore_queue_depth" for _, queue in labels
    } == set(QUEUES)


def test_a_reading_is_reused_within_its_cache_time(app, session):
    gauges = ScrapeTimeGauges(app.extensions["celery"], QUEUES, 60)
    first = value(_scrape(gauges), "bookstore_outbox_backlog")
    session.add(OutboxMessage(kind="order_placed", payload={}))
    session.flush()

    assert value(_scrape(gauges), "bookstore_outbox_backlog") == first


def test_a_broker_that_does_not_answer_reads_as_down_and_the_scrape_still_answers(
    app, session, monkeypatch
):
    # Given a broker address where nothing listens (Celery prefers the environment's)
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:1//")
    broken = Celery("unreachable", set_as_current=False)

    scrape = _scrape(ScrapeTimeGauges(broken, QUEUES, 0))

    assert value(scrape, "bookstore_broker_up") == 0
    assert ("bookstore_outbox_backlog", ()) in scrape
