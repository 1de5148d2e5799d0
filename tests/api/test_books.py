"""GET /api/v1/books and /api/v1/books/{id}: body, filters, sorts, cursors, bad input,
ETags and the Redis page cache."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import update

from models import Book, BookStatus, Stock
from services.catalog import cache as catalog_cache
from tests.factories import make_author, make_book, make_genre
from tests.services.catalog.test_reads import EXPECTED_ORDER, tied_catalog

BOOKS = "/api/v1/books"


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["title"] for item in response.json["items"]]


def test_list_item_has_the_spec_body(client):
    # given a book with two authors, two genres and some reserved stock
    book = make_book(
        "Good Omens",
        1599,
        on_hand=7,
        reserved=2,
        authors=["Terry Pratchett", "Neil Gaiman"],
        genres=["fantasy", "humor"],
        isbn13="9780060853983",
        language="eng",
        publication_year=1990,
        cover_url="https://covers.example/go.jpg",
        average_rating=Decimal("4.25"),
        ratings_count=412,
        description="Not in lists.",
    )
    # when the list is fetched
    response = client.get(BOOKS)
    # then the item has exactly the fields of SPEC's book body
    assert response.status_code == 200
    assert response.json["next_cursor"] is None
    [item] = response.json["items"]
    authors = [make_author("Terry Pratchett"), make_author("Neil Gaiman")]
    assert item == {
        "id": str(book.id),
        "isbn13": "9780060853983",
        "title": "Good Omens",
        "authors": [{"id": str(a.id), "name": a.name} for a in authors],
        "genres": ["fantasy", "humor"],
        "language": "eng",
        "publication_year": 1990,
        "price_cents": 1599,
        "currency": "USD",
        "cover_url": "https://covers.example/go.jpg",
        "average_rating": 4.25,
        "ratings_count": 412,
        "availability": {"in_stock": True, "available": 5},
    }


def test_detail_adds_description_page_count_and_rating_summary(client):
    book = make_book(
        "Dune", description="Spice.", page_count=412, average_rating=Decimal("4.5"),
        ratings_count=9, authors=["Frank Herbert"], genres=["science_fiction"],
    )  # fmt: skip
    response = client.get(f"{BOOKS}/{book.id}")
    assert response.status_code == 200
    body = response.json
    assert body["description"] == "Spice."
    assert body["page_count"] == 412
    assert body["rating"] == {"average": 4.5, "count": 9}
    assert body["availability"] == {"in_stock": True, "available": 10}
    assert body["authors"][0]["name"] == "Frank Herbert"


@pytest.mark.parametrize("sort", list(EXPECTED_ORDER))
def test_paging_through_every_sort_visits_each_book_once_in_order(client, sort):
    # given 57 books full of ties (and NULL years) plus archived ones
    books = tied_catalog()
    make_book("Archived", status=BookStatus.ARCHIVED, sales_count=99)
    # when following next_cursor with pages of 7
    seen, url, pages = [], f"{BOOKS}?sort={sort}&limit=7", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        assert len(response.json["items"]) <= 7
        seen.extend(item["id"] for item in response.json["items"])
        cursor = response.json["next_cursor"]
        url = f"{BOOKS}?sort={sort}&limit=7&cursor={cursor}" if cursor else None
        pages += 1
        assert pages <= 9
    # then every active book comes once, in order, and archived ones never
    assert seen == [str(book.id) for book in sorted(books, key=EXPECTED_ORDER[sort])]
    assert pages == 9


def test_genre_and_rating_paging_visits_every_book_of_the_genre(client):
    fantasy = make_genre("fantasy")
    books = tied_catalog(count=30, genres=[fantasy])
    tied_catalog(count=10, genres=["horror"])
    seen, query = [], {"genre": "fantasy", "sort": "rating", "limit": 4}
    while True:
        response = client.get(BOOKS, query_string=query)
        seen.extend(item["id"] for item in response.json["items"])
        if not response.json["next_cursor"]:
            break
        query["cursor"] = response.json["next_cursor"]
    assert seen == [str(b.id) for b in sorted(books, key=EXPECTED_ORDER["rating"])]


def test_each_filter(client):
    author = make_author("Mary Shelley")
    make_book("Frankenstein", 900, genres=["horror"], authors=[author], language="eng")
    make_book("Le Petit Prince", 700, genres=["childrens"], language="fre")
    make_book("Expensive", 5000, genres=["horror"], language="eng")
    make_book("Gone", 800, on_hand=3, reserved=3, language="eng")

    assert titles(client.get(BOOKS, query_string={"genre": "horror", "sort": "title"})) == [
        "Expensive",
        "Frankenstein",
    ]
    assert titles(client.get(BOOKS, query_string={"author": str(author.id)})) == ["Frankenstein"]
    assert titles(client.get(BOOKS, query_string={"language": "fre"})) == ["Le Petit Prince"]
    priced = client.get(BOOKS, query_string={"price_min": 700, "price_max": 900, "sort": "price"})
    assert titles(priced) == ["Le Petit Prince", "Gone", "Frankenstein"]
    assert titles(client.get(BOOKS, query_string={"price_min": 1000})) == ["Expensive"]
    assert titles(client.get(BOOKS, query_string={"price_max": 700})) == ["Le Petit Prince"]
    assert titles(client.get(BOOKS, query_string={"in_stock": "false"})) == ["Gone"]
    assert "Gone" not in titles(client.get(BOOKS, query_string={"in_stock": "true"}))


def test_default_sort_is_bestselling_and_default_limit_is_20(client):
    for i in range(21):
        make_book(f"Book {i}", sales_count=i)
    response = client.get(BOOKS)
    assert titles(response)[:2] == ["Book 20", "Book 19"]
    assert len(response.json["items"]) == 20
    assert response.json["next_cursor"]


def test_unknown_query_parameters_are_refused_by_name(client):
    # SPEC §3: a typo in a filter must not silently return the unfiltered catalog.
    make_book("Kept")
    response = client.get(BOOKS, query_string={"colour": "blue"})
    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["colour"]


def test_empty_query_values_mean_not_given(client):
    make_book("Kept", genres=["fantasy"])
    response = client.get(f"{BOOKS}?genre=&sort=&cursor=&limit=&in_stock=")
    assert titles(response) == ["Kept"]


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"sort": "popularity"}, 422, "validation_error"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 1000}, 422, "validation_error"),
        ({"limit": "ten"}, 422, "validation_error"),
        ({"price_min": 900, "price_max": 100}, 422, "validation_error"),
        ({"price_min": -1}, 422, "validation_error"),
        ({"author": "not-a-uuid"}, 422, "validation_error"),
        ({"in_stock": "maybe"}, 422, "validation_error"),
        ({"cursor": "forged.cursor"}, 400, "invalid_cursor"),
        ({"cursor": "WyIxIl0.AAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 400, "invalid_cursor"),
    ],
)
def test_bad_list_input_is_a_4xx_with_an_error_id(client, query, status, error):
    make_book()
    response = client.get(BOOKS, query_string=query)
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.json["message"]


def test_a_cursor_from_another_sort_is_refused(client):
    tied_catalog(count=5)
    cursor = client.get(BOOKS, query_string={"sort": "price", "limit": 2}).json["next_cursor"]
    assert client.get(BOOKS, query_string={"sort": "price", "cursor": cursor}).status_code == 200
    response = client.get(BOOKS, query_string={"sort": "title", "cursor": cursor})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_cursor"


@pytest.mark.parametrize("book_id", ["not-a-uuid", "1234", str(uuid.uuid4())])
def test_malformed_or_unknown_book_id_is_404(client, book_id):
    response = client.get(f"{BOOKS}/{book_id}")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_archived_books_are_never_listed_nor_shown(client):
    archived = make_book("Archived", status=BookStatus.ARCHIVED, genres=["fantasy"])
    make_book("Active", genres=["fantasy"])
    for sort in EXPECTED_ORDER:
        assert titles(client.get(BOOKS, query_string={"sort": sort})) == ["Active"]
    assert titles(client.get(BOOKS, query_string={"genre": "fantasy"})) == ["Active"]
    assert client.get(f"{BOOKS}/{archived.id}").status_code == 404


@pytest.mark.parametrize("path", ["", "/{id}"])
def test_etag_and_cache_control_then_304_on_if_none_match(client, path):
    book = make_book()
    url = BOOKS + path.format(id=book.id)
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"].startswith("public, max-age=")

    again = client.get(url, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_changes_when_the_book_changes(client, session):
    book = make_book(price_cents=1000)
    etag = client.get(f"{BOOKS}/{book.id}").headers["ETag"]
    session.execute(update(Book).where(Book.id == book.id).values(price_cents=1200))
    session.commit()
    catalog_cache.invalidate()

    response = client.get(f"{BOOKS}/{book.id}", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.json["price_cents"] == 1200
    assert response.headers["ETag"] != etag


def test_list_pages_come_from_the_cache_until_invalidated(client, session):
    # given a list page that was served once
    book = make_book("Old title")
    assert titles(client.get(BOOKS, query_string={"sort": "title"})) == ["Old title"]
    # when the title changes in the database behind the catalog's back
    session.execute(update(Book).where(Book.id == book.id).values(title="New title"))
    session.commit()
    # then the cached page is still served
    assert titles(client.get(BOOKS, query_string={"sort": "title"})) == ["Old title"]
    # and once the catalog is invalidated the new title shows
    catalog_cache.invalidate()
    assert titles(client.get(BOOKS, query_string={"sort": "title"})) == ["New title"]


def test_a_stock_move_shows_once_the_cached_page_is_older_than_the_staleness_bound(
    app, client, session
):
    # given a cached page showing 3 copies available
    book = make_book("Counted", on_hand=3)
    assert availability(client.get(f"{BOOKS}/{book.id}")) == 3
    # when stock moves behind the cache (a checkout) and the stock generation is bumped
    session.execute(update(Stock).where(Stock.book_id == book.id).values(reserved=1))
    session.commit()
    catalog_cache.stock_changed()
    # then within the staleness bound the cached page is still served
    previous = app.config["CATALOG_STOCK_STALENESS_SECONDS"]
    app.config["CATALOG_STOCK_STALENESS_SECONDS"] = 3600
    try:
        assert availability(client.get(f"{BOOKS}/{book.id}")) == 3
        # and once the page is older than the bound it is rebuilt with the real stock
        app.config["CATALOG_STOCK_STALENESS_SECONDS"] = 0
        assert availability(client.get(f"{BOOKS}/{book.id}")) == 2
    finally:
        app.config["CATALOG_STOCK_STALENESS_SECONDS"] = previous


def availability(response) -> int:
    return response.json["availability"]["available"]


def test_cache_keys_follow_the_normalised_query(client, session):
    make_book("Cheap", 100)
    make_book("Dear", 9000)
    assert titles(client.get(BOOKS, query_string={"sort": "price", "limit": 5})) == [
        "Cheap",
        "Dear",
    ]
    # A different query is a different cache entry, not the page above.
    assert titles(client.get(BOOKS, query_string={"sort": "-price", "limit": 5})) == [
        "Dear",
        "Cheap",
    ]
    assert titles(client.get(BOOKS, query_string={"sort": "price", "limit": 1})) == ["Cheap"]


def test_the_catalog_is_served_uncached_when_redis_is_down(app, session):
    from app import create_app

    make_book("Still here")
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    broken = create_app(
        {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "REDIS_URL": dead, "CACHE_REDIS_URL": dead}
    )
    try:
        # create_app pointed the catalog generation at the dead Redis
        response = broken.test_client().get(BOOKS)
    finally:
        catalog_cache.init(app.config["REDIS_URL"])
    assert titles(response) == ["Still here"]
    assert response.headers["ETag"]


def test_catalog_endpoints_are_documented(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ["/api/v1/books", "/api/v1/books/{book_id}", "/api/v1/genres", "/api/v1/authors"]:
        assert "get" in paths[path], path
    assert {"200", "304", "400", "422"} <= set(paths["/api/v1/books"]["get"]["responses"])
