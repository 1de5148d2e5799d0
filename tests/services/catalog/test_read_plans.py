"""Plan shapes of the catalog reads that need an index on 100k books (figures in
var/bench/explain.md, `python -m tests.bench.explain`). The test catalog is small, so the
planner is told to avoid sequential scans: what is checked is that the index CAN serve the
query as written (an unindexable rewrite, e.g. strpos() instead of LIKE, fails here)."""

from __future__ import annotations

import json

from sqlalchemy import event, text

from services.catalog import reads as catalog
from services.search.authors import search_authors
from tests.factories import make_author, make_book


def plans_of(session, call) -> list[str]:
    """Every statement ``call`` sends, as EXPLAIN's JSON with sequential scans disabled."""
    connection = session.connection()
    statements: list = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        return [
            json.dumps(connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar())
            for sql, params in statements
            if sql.lstrip().startswith(("SELECT", "WITH"))
        ]
    finally:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")


def test_author_search_uses_the_trigram_index_on_folded_names(session):
    for name in ("Stephen King", "Tolkien", "Kingsley Amis", "Jane Austen"):
        make_author(name)
    found = []
    plans = plans_of(
        session, lambda: found.extend(a["name"] for a in search_authors("king", 20, None).items)
    )
    assert found == ["Stephen King", "Kingsley Amis"]
    assert "ix_authors_name_folded_trgm" in plans[0]


def test_the_languages_count_reads_the_active_language_index(session):
    make_book(language="en")
    make_book(language="fr", status="archived")
    session.execute(text("ANALYZE books"))
    plans = plans_of(session, catalog.list_languages)
    assert "ix_books_active_language" in plans[0]


def test_the_author_filter_starts_from_the_authors_books(session):
    author = make_author("Prolific")
    for i in range(3):
        make_book(f"Book {i}", authors=[author])
    make_book("Other", authors=["Someone Else"])
    page = []
    plans = plans_of(
        session,
        lambda: page.extend(
            catalog.list_books(catalog.BookFilters(author=author.id), "title", 20, None).items
        ),
    )
    assert [b["title"] for b in page] == ["Book 0", "Book 1", "Book 2"]
    assert '"CTE Name": "written"' in plans[0]
    assert "ix_book_authors_author_id" in plans[0]
