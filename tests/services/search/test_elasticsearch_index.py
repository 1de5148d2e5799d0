"""The Elasticsearch index on osmem-server: an alias swap never leaves search empty, a stale
write is refused by its version, and the consistency job repairs a diverged index."""

from __future__ import annotations

import threading

import pytest
from osmem_server import OsmemServer
from sqlalchemy import text

from models import db
from services.search import consistency, engine
from services.search.backend import SearchRequest
from services.search.documents import write_documents
from tests.factories import make_book


@pytest.fixture(scope="module")
def osmem():
    server = OsmemServer.start(japanese=False)
    yield server.url
    server.close()


@pytest.fixture
def indexed(committed, osmem):
    """Given 24 committed books, indexed in PostgreSQL and in a fresh Elasticsearch index."""
    books = [make_book(f"Lighthouse Keeper {n:02d}") for n in range(24)]
    write_documents(db.session, [book.id for book in books])
    db.session.commit()
    backend = engine.elasticsearch_backend(osmem)
    backend.rebuild(db.session)
    return backend, books


def test_searches_during_an_alias_swap_never_fail_or_come_back_empty(indexed, app):
    backend, books = indexed
    results, errors, stop = [], [], threading.Event()

    def shopper():
        with app.app_context():
            while not stop.is_set():
                try:
                    results.append(backend.search(SearchRequest(q="lighthouse")).total)
                except Exception as exc:
                    errors.append(exc)
            db.session.remove()

    thread = threading.Thread(target=shopper)
    thread.start()
    try:
        summary = backend.rebuild(db.session)  # a full rebuild while the shopper searches
        backend.rebuild(db.session)
    finally:
        stop.set()
        thread.join()
    assert not errors and results and set(results) == {len(books)}
    assert len(summary["replaced"]) == 1  # the old index went away with the swap


def test_a_stale_write_is_refused_by_its_version(indexed):
    backend, books = indexed
    book = books[0]
    db.session.execute(
        text(
            "UPDATE search_documents SET title = 'An Older Title',"
            " version = version - interval '1 hour' WHERE book_id = :id"
        ),
        {"id": book.id},
    )
    backend.sync(db.session, [book.id])
    backend.refresh()
    found = backend.client.get(index=backend.alias, id=str(book.id))["_source"]["title"]
    assert found == "Lighthouse Keeper 00"
    db.session.rollback()


def test_consistency_repairs_a_diverged_index(indexed):
    backend, books = indexed
    backend.client.delete(index=backend.alias, id=str(books[1].id), refresh=True)
    assert backend.count() == len(books) - 1

    counts = consistency.repair(mirror=backend.sync, indexed_versions=backend.indexed_versions)

    backend.refresh()
    assert counts["index_differing"] == 1 and backend.count() == len(books)
