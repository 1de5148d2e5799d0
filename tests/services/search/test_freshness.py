"""Applying reindex requests: batches coalesce a book's many changes, re-applying changes
nothing, and a build of an older version never overwrites a newer document."""

from __future__ import annotations

from sqlalchemy import select, text

from models import ReindexRequest, SearchDocument, db
from services.search import freshness
from services.search.documents import write_documents
from tests.factories import make_book


def document(book_id) -> SearchDocument | None:
    db.session.expire_all()
    return db.session.get(SearchDocument, book_id)


def test_many_changes_to_one_book_become_one_document_write(session):
    book = make_book("Gormenghast")
    other = make_book("Titus Alone")
    for _ in range(20):
        freshness.book_changed([book.id], "test")
    freshness.book_changed([other.id, book.id], "test")

    applied = freshness.apply_pending()

    assert (applied.requests, applied.written, applied.batches) == (22, 2, 1)
    assert document(book.id).title == "Gormenghast"
    assert not db.session.scalars(
        select(ReindexRequest).where(ReindexRequest.processed_at.is_(None))
    ).all()
    # re-applying: nothing pending, nothing written
    assert freshness.apply_pending().requests == 0


def test_batches_hold_at_most_the_batch_size(session):
    books = [make_book(f"Book {n}") for n in range(7)]
    freshness.book_changed([b.id for b in books], "test")
    applied = freshness.apply_pending(batch_size=3)
    assert (applied.batches, applied.written) == (3, 7)


def test_a_stale_build_never_overwrites_a_newer_document(session):
    book = make_book("The Old Title")
    write_documents(db.session, [book.id])
    # Given the index already holds a newer version of the book than the database shows
    # (a later change's batch landed first)...
    db.session.execute(
        text(
            "UPDATE search_documents SET title = 'The Newer Title',"
            " version = version + interval '1 hour' WHERE book_id = :id"
        ),
        {"id": book.id},
    )
    # when a late batch writes the book as it read it (older)...
    written, _ = write_documents(db.session, [book.id])
    # then nothing is written and the newer document stays.
    assert written == 0
    assert document(book.id).title == "The Newer Title"


def test_an_archived_book_loses_its_document(session):
    book = make_book("Going Away")
    write_documents(db.session, [book.id])
    book.status = "archived"
    db.session.flush()
    assert write_documents(db.session, [book.id]) == (0, 1)
    assert document(book.id) is None


def test_stock_crossing_out_and_back_in_reaches_the_document(session):
    from services.inventory import stock as inventory

    book = make_book("Scarce Copies", on_hand=1)
    write_documents(db.session, [book.id])
    assert document(book.id).in_stock is True

    inventory.adjust(book.id, -1, "damaged")
    assert freshness.apply_pending().written == 1
    assert document(book.id).in_stock is False

    inventory.adjust(book.id, 5, "delivery")
    inventory.adjust(book.id, 2, "delivery")  # stays in stock: no new request
    assert freshness.apply_pending().requests == 1
    assert document(book.id).in_stock is True
