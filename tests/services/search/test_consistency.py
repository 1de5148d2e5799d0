"""The consistency job repairs a deliberately diverged index; /admin/search reports it."""

from __future__ import annotations

from sqlalchemy import text

from models import Role, SearchDocument, db
from services.search import consistency
from services.search.documents import write_documents
from tests.factories import auth_headers, make_book, make_user


def test_a_diverged_index_is_repaired(session):
    # Given four indexed books...
    kept, lost, stale, archived = (make_book(t) for t in ("Kept", "Lost", "Stale", "Archived"))
    write_documents(db.session, [kept.id, lost.id, stale.id, archived.id])
    # ...whose index then diverged from the catalog without any reindex request:
    db.session.execute(text("DELETE FROM search_documents WHERE book_id = :id"), {"id": lost.id})
    db.session.execute(
        text(
            "UPDATE search_documents SET title = 'Wrong', in_stock = false,"
            " version = version - interval '1 day' WHERE book_id = :id"
        ),
        {"id": stale.id},
    )
    db.session.execute(
        text("UPDATE books SET status = 'archived' WHERE id = :id"), {"id": archived.id}
    )

    # When the consistency job runs
    counts = consistency.repair()

    # Then every difference was found and repaired
    assert counts["differing"] == 3 and counts["written"] == 2 and counts["removed"] == 1
    db.session.expire_all()
    assert db.session.get(SearchDocument, lost.id).title == "Lost"
    assert db.session.get(SearchDocument, stale.id).title == "Stale"
    assert db.session.get(SearchDocument, stale.id).in_stock is True
    assert db.session.get(SearchDocument, archived.id) is None
    # and a second run finds nothing.
    assert consistency.repair()["differing"] == 0


def test_admin_search_shows_documents_and_backlog(app, client):
    book = make_book("Counted")
    write_documents(db.session, [book.id])
    make_book("Not indexed yet")
    db.session.execute(
        text("INSERT INTO search_reindex_requests (book_id, reason) VALUES (:id, 'test')"),
        {"id": book.id},
    )
    db.session.commit()
    staff = auth_headers(app, make_user(role=Role.STAFF))

    body = client.get("/api/v1/admin/search", headers=staff).json

    assert body["backend"] == "postgres" and body["reachable"] is True
    assert (body["books_active"], body["documents_indexed"], body["backlog"]) == (2, 1, 1)
    assert body["oldest_backlog_age_seconds"] >= 0
    customer = auth_headers(app, make_user())
    assert client.get("/api/v1/admin/search", headers=customer).status_code == 403
