"""GET /api/v1/authors?q= (search, cursor pages) and /api/v1/authors/{id}."""

from __future__ import annotations

import uuid

import pytest

from models import BookStatus
from tests.factories import make_author, make_book

AUTHORS = "/api/v1/authors"


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def test_search_matches_any_part_of_the_name_in_any_case(client):
    for name in ["Terry Pratchett", "Neil Gaiman", "Harriet PRATT", "Agatha Christie"]:
        make_author(name)
    assert names(client.get(AUTHORS, query_string={"q": "prat"})) == [
        "Harriet PRATT",
        "Terry Pratchett",
    ]
    assert names(client.get(AUTHORS, query_string={"q": "NEIL"})) == ["Neil Gaiman"]
    assert names(client.get(AUTHORS, query_string={"q": "nobody"})) == []
    assert len(names(client.get(AUTHORS))) == 4


def test_search_items_count_active_books(client):
    author = make_author("Ursula K. Le Guin")
    make_book(authors=[author])
    make_book(authors=[author])
    make_book(authors=[author], status=BookStatus.ARCHIVED)
    [item] = client.get(AUTHORS, query_string={"q": "guin"}).json["items"]
    assert item == {"id": str(author.id), "name": "Ursula K. Le Guin", "books_count": 2}


def test_search_pages_with_a_cursor(client):
    authors = [make_author(f"Writer {i:02d}") for i in range(9)]
    make_author("Someone Else")
    seen, query = [], {"q": "writer", "limit": 4}
    while True:
        response = client.get(AUTHORS, query_string=query)
        seen.extend(names(response))
        if not response.json["next_cursor"]:
            break
        query["cursor"] = response.json["next_cursor"]
    assert seen == [author.name for author in authors]


def test_author_detail_lists_their_active_books(client):
    author = make_author("Frank Herbert")
    dune = make_book("Dune", authors=[author], sales_count=50)
    messiah = make_book("Dune Messiah", authors=[author, "Co Author"], sales_count=5)
    make_book("Withdrawn", authors=[author], status=BookStatus.ARCHIVED)
    make_book("Not his", authors=["Someone"])

    response = client.get(f"{AUTHORS}/{author.id}")

    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["name"], body["books_count"]) == (str(author.id), author.name, 2)
    assert [book["id"] for book in body["books"]] == [str(dune.id), str(messiah.id)]
    assert [a["name"] for a in body["books"][1]["authors"]] == ["Frank Herbert", "Co Author"]
    assert response.headers["ETag"]
    assert (
        client.get(
            f"{AUTHORS}/{author.id}", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )


@pytest.mark.parametrize("author_id", ["not-a-uuid", str(uuid.uuid4())])
def test_malformed_or_unknown_author_id_is_404(client, author_id):
    response = client.get(f"{AUTHORS}/{author_id}")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 1000}, 422, "validation_error"),
        ({"q": "x" * 201}, 422, "validation_error"),
        ({"cursor": "forged"}, 400, "invalid_cursor"),
    ],
)
def test_bad_search_input_is_a_4xx_with_an_error_id(client, query, status, error):
    response = client.get(AUTHORS, query_string=query)
    assert response.status_code == status
    assert response.json["error"] == error


def test_a_book_list_cursor_is_not_an_author_cursor(client):
    for i in range(3):
        make_book(f"Book {i}")
    cursor = client.get("/api/v1/books", query_string={"limit": 1}).json["next_cursor"]
    response = client.get(AUTHORS, query_string={"cursor": cursor})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_cursor"
