"""A full rebuild rewrites only the documents that differ: an unchanged book keeps its row
(no dead copy for every search to step over), a changed one is rewritten, a gone one removed."""

from __future__ import annotations

from sqlalchemy import text, update

from models import Book, BookStatus
from services.search.documents import rebuild_all
from tests.factories import make_book


def row_versions(session) -> dict:
    return dict(session.execute(text("SELECT book_id, xmin::text FROM search_documents")).all())


def test_a_rebuild_rewrites_only_what_changed(session):
    kept, renamed, archived = (make_book(f"Saltmarsh Primer {n}") for n in range(3))
    assert rebuild_all(session) == 3
    before = row_versions(session)
    session.execute(text("SAVEPOINT later"))  # a later transaction's writes
    session.execute(update(Book).where(Book.id == renamed.id).values(title="Fen Almanac"))
    session.execute(update(Book).where(Book.id == archived.id).values(status=BookStatus.ARCHIVED))

    assert rebuild_all(session) == 2

    after = row_versions(session)
    assert after[kept.id] == before[kept.id]  # the same row, not a new version of it
    assert after[renamed.id] != before[renamed.id]
    assert archived.id not in after
    titles = session.execute(text("SELECT title FROM search_documents ORDER BY title")).scalars()
    assert list(titles) == ["Fen Almanac", "Saltmarsh Primer 0"]
