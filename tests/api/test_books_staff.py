"""Staff catalog management: validation, audit records, cache invalidation, and who may do it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from models import AuditLog, Book, Role, Stock, db
from services.catalog import cache as catalog_cache
from tests.factories import auth_headers, make_book, make_user

VALID_ISBN = "978-0-306-40615-7"


@pytest.fixture
def staff(app, session):
    user = make_user(role=Role.STAFF)
    return user, auth_headers(app, user)


@pytest.fixture
def genre(client, staff):
    response = client.post(
        "/api/v1/genres", headers=staff[1], json={"slug": "science-fiction", "name": "Sci-Fi"}
    )
    assert response.status_code == 201
    return response.json


def new_book(**overrides):
    return {
        "isbn13": VALID_ISBN,
        "title": "The Left Hand of Darkness",
        "price_cents": 1599,
        "language": "en",
        "publication_year": 1969,
        "genres": ["science-fiction"],
        "author_names": ["Ursula K. Le Guin"],
        **overrides,
    }


def audit_rows(entity_id) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.entity_id == str(entity_id)).order_by(AuditLog.id)
        )
    )


def test_staff_creates_a_book_with_an_audit_record_and_a_cache_bust(client, staff, genre):
    user, headers = staff
    generation = catalog_cache.generation()

    response = client.post("/api/v1/books", headers=headers, json=new_book())

    assert response.status_code == 201
    book = response.json
    assert book["isbn13"] == "9780306406157"
    assert book["genres"] == ["science-fiction"]
    assert [a["name"] for a in book["authors"]] == ["Ursula K. Le Guin"]
    assert book["status"] == "active" and book["currency"] == "USD"
    [entry] = audit_rows(book["id"])
    assert (entry.actor_id, entry.action, entry.entity) == (user.id, "create", "book")
    assert entry.before is None and entry.after["price_cents"] == 1599
    assert catalog_cache.generation() > generation
    assert db.session.scalar(select(Stock).where(Stock.book_id == uuid.UUID(book["id"])))


def test_existing_authors_are_linked_by_id(client, staff, genre):
    author = client.post("/api/v1/authors", headers=staff[1], json={"name": "N. K. Jemisin"})
    assert author.status_code == 201
    response = client.post(
        "/api/v1/books",
        headers=staff[1],
        json=new_book(author_ids=[author.json["id"]], author_names=[]),
    )
    assert response.json["authors"] == [{"id": author.json["id"], "name": "N. K. Jemisin"}]
    duplicate = client.post("/api/v1/authors", headers=staff[1], json={"name": "N. K. Jemisin"})
    assert duplicate.status_code == 409 and duplicate.json["error"] == "author_exists"


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"isbn13": "978-0-306-40615-8"}, "invalid_isbn", "checksum"),
        ({"isbn13": "12345"}, "invalid_isbn", "13 digits"),
        ({"genres": ["science-fiction", "cli-fi"]}, "unknown_genre", "cli-fi"),
        ({"price_cents": -1}, "validation_error", "semantic errors"),
        ({"author_ids": [str(uuid.uuid4())]}, "unknown_author", "Unknown author"),
    ],
)
def test_invalid_books_are_422_with_a_clear_message(
    client, staff, genre, overrides, error, fragment
):
    response = client.post("/api/v1/books", headers=staff[1], json=new_book(**overrides))
    assert response.status_code == 422
    assert response.json["error"] == error
    assert fragment in response.json["message"]
    assert db.session.scalar(select(Book).where(Book.title == new_book()["title"])) is None


def test_negative_price_names_the_field(client, staff, genre):
    response = client.post("/api/v1/books", headers=staff[1], json=new_book(price_cents=-5))
    assert "0 or more" in response.json["errors"]["json"]["price_cents"][0]


def test_a_second_book_with_the_same_isbn_is_409(client, staff, genre):
    assert client.post("/api/v1/books", headers=staff[1], json=new_book()).status_code == 201
    again = client.post("/api/v1/books", headers=staff[1], json=new_book(title="Copy"))
    assert again.status_code == 409
    assert again.json["error"] == "isbn_taken"


def test_patch_changes_the_price_and_audits_before_and_after(client, staff, genre):
    book = make_book(price_cents=1000)
    generation = catalog_cache.generation()

    response = client.patch(
        f"/api/v1/books/{book.id}", headers=staff[1], json={"price_cents": 1250}
    )

    assert response.status_code == 200
    assert response.json["price_cents"] == 1250
    [entry] = audit_rows(book.id)
    assert entry.action == "update"
    assert (entry.before["price_cents"], entry.after["price_cents"]) == (1000, 1250)
    assert catalog_cache.generation() > generation


def test_patch_rejects_an_unknown_genre_and_keeps_the_book(client, staff, genre):
    book = make_book()
    response = client.patch(f"/api/v1/books/{book.id}", headers=staff[1], json={"genres": ["nope"]})
    assert response.status_code == 422 and response.json["error"] == "unknown_genre"
    assert audit_rows(book.id) == []


def test_delete_archives_the_book(client, staff):
    book = make_book()
    response = client.delete(f"/api/v1/books/{book.id}", headers=staff[1])
    assert response.status_code == 200
    assert response.json["status"] == "archived"
    db.session.expire_all()
    assert db.session.get(Book, book.id).status == "archived"
    assert [e.action for e in audit_rows(book.id)] == ["archive"]

    restored = client.patch(f"/api/v1/books/{book.id}", headers=staff[1], json={"status": "active"})
    assert restored.status_code == 200 and restored.json["status"] == "active"
    assert [e.action for e in audit_rows(book.id)] == ["archive", "update"]


def test_unknown_book_is_404(client, staff):
    response = client.patch(f"/api/v1/books/{uuid.uuid4()}", headers=staff[1], json={"title": "x"})
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_genre_slugs_are_validated_and_unique(client, staff, genre):
    bad = client.post("/api/v1/genres", headers=staff[1], json={"slug": "Sci Fi!", "name": "x"})
    assert bad.status_code == 422
    again = client.post(
        "/api/v1/genres", headers=staff[1], json={"slug": "science-fiction", "name": "x"}
    )
    assert again.status_code == 409 and again.json["error"] == "genre_exists"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/books", new_book()),
        ("patch", "/api/v1/books/{id}", {"price_cents": 1}),
        ("delete", "/api/v1/books/{id}", None),
        ("post", "/api/v1/genres", {"slug": "x", "name": "x"}),
        ("post", "/api/v1/authors", {"name": "x"}),
        ("post", "/api/v1/books/{id}/cover", {"content_type": "image/png"}),
    ],
)
def test_customers_get_403_and_anonymous_callers_401(client, app, method, path, body):
    book = make_book(price_cents=700)
    url = path.format(id=book.id)
    customer = getattr(client, method)(url, headers=auth_headers(app, make_user()), json=body)
    anonymous = getattr(client, method)(url, json=body)
    assert customer.status_code == 403 and customer.json["error"] == "forbidden"
    assert anonymous.status_code == 401
    db.session.expire_all()
    assert db.session.get(Book, book.id).price_cents == 700
    assert audit_rows(book.id) == []


def test_staff_changes_show_up_in_the_public_catalog_at_once(client, staff, genre):
    created = client.post("/api/v1/books", headers=staff[1], json=new_book()).json
    url = f"/api/v1/books/{created['id']}"
    before = client.get(url)
    assert before.status_code == 200 and before.json["price_cents"] == 1599
    assert before.json["genres"] == ["science-fiction"]

    client.patch(url, headers=staff[1], json={"price_cents": 999})
    assert client.get(url).json["price_cents"] == 999  # not the cached 1599

    client.delete(url, headers=staff[1])
    assert client.get(url).status_code == 404
    listed = client.get("/api/v1/books").json["items"]
    assert created["id"] not in [item["id"] for item in listed]
