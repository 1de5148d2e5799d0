"""Reindex wake-ups are coalesced: every change records its reindex request, but within half
the debounce only the first message publishes a wake-up of the search queue's batch (it runs
after the debounce, so it applies the others' requests too). Publishes are counted with
Celery's own ``before_task_publish`` signal; the batch runs on a real worker."""

from __future__ import annotations

import time

import pytest
from celery.signals import before_task_publish
from sqlalchemy import func, select

from models import ReindexRequest, db
from services.catalog import cache as catalog_cache
from services.search import freshness
from services.search.documents import write_documents
from tasks import chains
from tests.factories import make_book
from tests.support.orders import wait_for_idle_workers
from tests.support.waiting import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def wake_ups():
    published: list[str] = []

    def count(sender=None, **extra):
        if sender == chains.REINDEX_BOOKS:
            published.append(sender)

    before_task_publish.connect(count, weak=False)
    yield published
    before_task_publish.disconnect(count)


def change_and_send(app, book_ids) -> None:
    """What a staff edit or an order does: record the request, commit, send what it recorded."""
    freshness.book_changed(book_ids, reason="test")
    db.session.commit()
    chains.send_recorded(app.extensions["celery"], [])


DEBOUNCE = 1.0


@pytest.fixture
def debounce(app, committed, worker):
    """A 1 s debounce for the test. The wake-ups it publishes run on the session's worker
    (held until their debounce has passed): they finish before the tables are emptied, or
    their batch deadlocks with the teardown's TRUNCATE."""
    conf = app.extensions["celery"].conf
    previous = conf.search_reindex_debounce_seconds
    conf.search_reindex_debounce_seconds = DEBOUNCE
    catalog_cache.client().delete(freshness.WAKE_KEY)
    yield conf
    time.sleep(DEBOUNCE + 0.3)
    wait_for_idle_workers(app.extensions["celery"])
    conf.search_reindex_debounce_seconds = previous
    catalog_cache.client().delete(freshness.WAKE_KEY)


def test_a_burst_of_changes_publishes_one_wake_up(app, committed, debounce, wake_ups):
    books = [make_book(f"Burst {n}") for n in range(6)]
    # When six changes are sent within half the debounce
    for book in books:
        change_and_send(app, [book.id])
    # Then one wake-up went out for all of them
    assert wake_ups == [chains.REINDEX_BOOKS]
    # and once half the debounce has passed, the next change wakes the reindexer again
    time.sleep(0.6)
    change_and_send(app, [books[0].id])
    assert wake_ups == [chains.REINDEX_BOOKS] * 2


def test_without_a_debounce_every_change_wakes_the_reindexer(app, committed, debounce, wake_ups):
    debounce.search_reindex_debounce_seconds = 0
    book = make_book("Eager")
    for _ in range(3):
        change_and_send(app, [book.id])
    assert wake_ups == [chains.REINDEX_BOOKS] * 3


def test_the_one_wake_up_applies_every_request_of_the_burst(app, committed, debounce):
    books = [make_book(f"Covered {n}") for n in range(8)]
    write_documents(db.session, [book.id for book in books])
    db.session.commit()
    for book in books:
        change_and_send(app, [book.id])

    def open_requests() -> int:
        count = db.session.scalar(
            select(func.count())
            .select_from(ReindexRequest)
            .where(ReindexRequest.processed_at.is_(None))
        )
        db.session.commit()
        return count

    wait_for(lambda: open_requests() == 0, timeout=20, interval=0.1)
