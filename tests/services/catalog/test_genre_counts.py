"""Genre counts kept by the database (migration 0017): after every change that alters them, made
through the real code paths, genres.books_count equals a fresh count of active linked books;
GET /genres reads the counts without touching the links."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from models import Role
from services.catalog import reads as catalog
from services.catalog.importer import import_catalog
from tests.factories import auth_headers, make_book, make_genre, make_user
from tests.services.catalog.test_importer import crafted_options

FRESH_COUNTS = """
SELECT g.slug, g.books_count AS kept,
       (SELECT count(*) FROM book_genres l JOIN books b ON b.id = l.book_id
         WHERE l.genre_id = g.id AND b.status = 'active') AS fresh
  FROM genres g ORDER BY g.slug
"""


def counts(session) -> dict[str, int]:
    """Each genre's kept count, after checking it against a fresh count."""
    rows = session.execute(text(FRESH_COUNTS)).all()
    assert [(r.slug, r.kept) for r in rows] == [(r.slug, r.fresh) for r in rows]
    return {r.slug: r.kept for r in rows}


@pytest.fixture
def staff(app, session):
    return auth_headers(app, make_user(role=Role.STAFF))


def post_genre(client, staff, slug: str) -> None:
    response = client.post("/api/v1/genres", headers=staff, json={"slug": slug, "name": slug})
    assert response.status_code == 201


def test_staff_create_archive_restore_and_genre_edits_keep_the_counts(client, session, staff):
    for slug in ("horror", "poetry", "sci-fi"):
        post_genre(client, staff, slug)
    assert counts(session) == {"horror": 0, "poetry": 0, "sci-fi": 0}

    def create(genres: list[str]) -> str:
        body = {"title": "A Book", "price_cents": 500, "genres": genres, "author_names": ["A"]}
        response = client.post("/api/v1/books", headers=staff, json=body)
        assert response.status_code == 201, response.json
        return f"/api/v1/books/{response.json['id']}"

    first = create(["horror", "sci-fi"])
    second = create(["sci-fi"])
    assert counts(session) == {"horror": 1, "poetry": 0, "sci-fi": 2}

    assert client.delete(first, headers=staff).status_code in (200, 204)
    assert counts(session) == {"horror": 0, "poetry": 0, "sci-fi": 1}
    # Archiving twice changes nothing.
    assert client.delete(first, headers=staff).status_code in (200, 204)
    assert counts(session)["sci-fi"] == 1
    # Links of an archived book change: still not counted.
    assert client.patch(first, headers=staff, json={"genres": ["poetry"]}).status_code == 200
    assert counts(session) == {"horror": 0, "poetry": 0, "sci-fi": 1}

    restored = client.patch(first, headers=staff, json={"status": "active"})
    assert restored.status_code == 200, restored.json
    assert counts(session) == {"horror": 0, "poetry": 1, "sci-fi": 1}

    # Genres replaced, kept, reordered; then all removed.
    edit = {"genres": ["poetry", "horror", "sci-fi"]}
    assert client.patch(second, headers=staff, json=edit).status_code == 200
    assert counts(session) == {"horror": 1, "poetry": 2, "sci-fi": 1}
    assert client.patch(second, headers=staff, json={"genres": ["sci-fi"]}).status_code == 200
    assert counts(session) == {"horror": 0, "poetry": 1, "sci-fi": 1}
    assert client.patch(second, headers=staff, json={"genres": []}).status_code == 200
    assert counts(session) == {"horror": 0, "poetry": 1, "sci-fi": 0}

    # What GET /genres answers is the kept count.
    listed = {g["slug"]: g["books_count"] for g in client.get("/api/v1/genres").json["items"]}
    assert listed == {"horror": 0, "poetry": 1, "sci-fi": 0}


def test_sql_writers_the_importer_and_deletions_keep_the_counts(session, tmp_path):
    # the importer's COPY of links, then the synthetic generator's
    import_catalog(session, crafted_options(tmp_path))
    import_catalog(session, crafted_options(tmp_path, generate=60))
    imported = counts(session)
    assert sum(imported.values()) > 60
    # a book deleted outright (its links cascade), active or archived, and a link re-pointed
    kept = make_book(genres=["fantasy", "horror"])
    gone = make_book(genres=["fantasy"])
    archived = make_book(genres=["fantasy"], status="archived")
    make_genre("moved-here")
    session.flush()
    counts(session)
    session.execute(
        text("DELETE FROM books WHERE id IN (:a, :b)"), {"a": gone.id, "b": archived.id}
    )
    session.execute(
        text(
            "UPDATE book_genres SET genre_id = (SELECT id FROM genres WHERE slug = 'moved-here') "
            "WHERE book_id = :id AND genre_id = (SELECT id FROM genres WHERE slug = 'horror')"
        ),
        {"id": kept.id},
    )
    after = counts(session)
    assert after["horror"] == imported.get("horror", 0) and after["moved-here"] == 1
    # bulk status changes (one statement, many rows)
    session.execute(text("UPDATE books SET status = 'archived'"))
    assert set(counts(session).values()) == {0}
    session.execute(text("UPDATE books SET status = 'active'"))
    assert counts(session) == after


def test_sales_and_price_updates_leave_the_genres_untouched(session):
    book = make_book(genres=["fantasy"])
    session.flush()
    # An updated row gets a new version (ctid): none for the genre means no trigger wrote it.
    before = session.execute(text("SELECT ctid::text FROM genres")).scalar_one()
    session.execute(
        text("UPDATE books SET sales_count = sales_count + 1, price_cents = 1 WHERE id = :id"),
        {"id": book.id},
    )
    assert session.execute(text("SELECT ctid::text FROM genres")).scalar_one() == before
    session.execute(text("UPDATE books SET status = 'archived' WHERE id = :id"), {"id": book.id})
    assert session.execute(text("SELECT ctid::text FROM genres")).scalar_one() != before


def test_the_genre_list_reads_one_table_and_no_links(session, engine):
    make_book(genres=["fantasy", "horror"])
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        genres = catalog.list_genres()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [(g["slug"], g["books_count"]) for g in genres] == [("fantasy", 1), ("horror", 1)]
    assert len(statements) == 1
    assert "book_genres" not in statements[0] and "books" not in statements[0].split("FROM")[1]
