"""The page front (app/page_front.py): a repeated public catalog or search read is answered
before Flask dispatches it, with the answer Flask gave (status, headers, body), and anything
that could change the answer, or must see Flask, still goes to Flask.

"Flask answered" is observed with Flask's own ``request_started`` signal, which fires for
every request Flask dispatches and never for one the front answers."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from flask import request_started
from sqlalchemy import update

from app.metrics import REQUESTS
from app.page_front import PageFront
from models import Book, db
from services.catalog import cache as catalog_cache
from services.search.documents import write_documents
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_book

BOOKS = "/api/v1/books"


@pytest.fixture
def dispatched(app):
    """The paths Flask dispatched while the test ran."""
    seen: list[str] = []

    def record(sender, **extra):
        from flask import request

        seen.append(request.path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


@pytest.fixture
def book(client):
    book = make_book("Lanterns of Quillmarsh", authors=["Odile Brackwater"], genres=["fantasy"])
    write_documents(db.session, [book.id])
    db.session.commit()
    return book


def comparable(response) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")
    return response.status_code, headers, response.data


def urls(book) -> list[str]:
    return [
        f"{BOOKS}?sort=title&limit=5",
        f"{BOOKS}/{book.id}",
        "/api/v1/genres",
        "/api/v1/languages",
        "/api/v1/authors?q=brackwater",
        "/api/v1/search?q=quillmarsh+lanterns",
        "/api/v1/search/suggest?q=quill",
    ]


def test_a_repeated_public_read_is_answered_before_flask_with_flasks_answer(
    app, client, book, dispatched
):
    assert isinstance(app.wsgi_app, PageFront)
    for url in urls(book):
        # Given a public read Flask answered once
        first = client.get(url)
        assert first.status_code == 200, (url, first.json)
        assert dispatched == [url.split("?")[0]]
        # When the same URL is asked again
        again = client.get(url, headers={"X-Request-ID": "shopper-7"})
        # Then Flask did not dispatch it, and the answer is Flask's, byte for byte, with the
        # caller's request id
        assert dispatched == [url.split("?")[0]], url
        assert comparable(again) == comparable(first), url
        assert again.headers["X-Request-ID"] == "shopper-7"
        dispatched.clear()


def test_a_front_answer_is_logged_and_counted_like_flasks(client, book, dispatched, caplog):
    url = f"{BOOKS}/{book.id}"
    client.get(url)
    counted = REQUESTS.labels("GET", "books.BookById", 200)
    before = counted._value.get()
    with caplog.at_level(logging.INFO, logger="bookstore.access"):
        answer = client.get(url, headers={"X-Request-ID": "<forged> line"})
    assert dispatched == [url]  # the first read only
    [line] = [r for r in caplog.records if r.name == "bookstore.access"]
    assert (line.method, line.path, line.status) == ("GET", url, 200)
    # A request id that is not a plain token is replaced, as Flask does
    assert answer.headers["X-Request-ID"] != "<forged> line"
    assert len(answer.headers["X-Request-ID"]) == 32
    assert counted._value.get() == before + 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-token"},
        {"If-None-Match": '"x"'},
        {"Origin": "https://shop.example"},
        {"X-Cart-Token": "t"},
        {"Idempotency-Key": "k"},
    ],
)
def test_requests_whose_answer_may_differ_go_to_flask(client, book, dispatched, headers):
    url = f"{BOOKS}/{book.id}"
    client.get(url)
    client.get(url, headers=headers)
    client.get(url, headers=headers)
    assert dispatched == [url, url, url]


def test_a_head_and_a_refused_query_go_to_flask_every_time(client, book, dispatched):
    for _ in range(2):
        assert client.head(BOOKS).status_code == 200
        refused = client.get(BOOKS, query_string={"colour": "red"})
        assert refused.status_code == 422 and "colour" in str(refused.json)
    assert dispatched == [BOOKS] * 4
    kept = redis.Redis.from_url(TEST_REDIS_URL).keys(catalog_cache.FRONT_PREFIX + "*")
    assert kept == []  # nothing but a 200 is kept


def test_a_catalog_change_sends_the_next_read_to_flask(client, session, book, dispatched):
    url = f"{BOOKS}?sort=title&limit=5"
    assert client.get(url).json["items"][0]["title"] == "Lanterns of Quillmarsh"
    session.execute(update(Book).where(Book.id == book.id).values(title="Lamps of Quillmarsh"))
    session.commit()
    # Behind the catalog's back the stored answer stands (as the page cache's does)
    assert client.get(url).json["items"][0]["title"] == "Lanterns of Quillmarsh"
    assert dispatched == [BOOKS]
    # and once the catalog generation moves, Flask answers with the new title
    catalog_cache.invalidate()
    assert client.get(url).json["items"][0]["title"] == "Lamps of Quillmarsh"
    assert dispatched == [BOOKS, BOOKS]


def test_a_stock_move_reaches_the_front_after_the_staleness_bound(app, client, book, dispatched):
    url = f"{BOOKS}/{book.id}"
    client.get(url)
    catalog_cache.stock_changed()
    previous = app.config["CATALOG_STOCK_STALENESS_SECONDS"]
    app.config["CATALOG_STOCK_STALENESS_SECONDS"] = 0.5
    try:
        client.get(url)  # within the bound: the stored answer
        assert dispatched == [url]
        time.sleep(0.6)
        client.get(url)  # past it: rebuilt by Flask
        assert dispatched == [url, url]
    finally:
        app.config["CATALOG_STOCK_STALENESS_SECONDS"] = previous
