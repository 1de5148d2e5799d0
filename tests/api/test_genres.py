"""GET /api/v1/genres: every genre with its count of active books, cached with an ETag."""

from __future__ import annotations

from models import Book, BookGenre, BookStatus
from services.catalog import cache as catalog_cache
from tests.factories import make_book, make_genre

GENRES = "/api/v1/genres"


def test_genres_with_counts_of_active_books(client):
    # given books in two genres, an archived one and an empty genre
    make_genre("science_fiction", "Science Fiction")
    make_book(genres=["fantasy", "horror"])
    make_book(genres=["fantasy"])
    make_book(genres=["horror"], status=BookStatus.ARCHIVED)
    # when the genres are listed
    response = client.get(GENRES)
    # then each has its name and count of active books, by name
    assert response.status_code == 200
    assert response.json == {
        "items": [
            {"slug": "fantasy", "name": "Fantasy", "books_count": 2},
            {"slug": "horror", "name": "Horror", "books_count": 1},
            {"slug": "science_fiction", "name": "Science Fiction", "books_count": 0},
        ],
        "next_cursor": None,
    }


def test_genres_answer_304_to_a_matching_etag(client):
    make_book(genres=["fantasy"])
    first = client.get(GENRES)
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(GENRES, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_genre_counts_are_cached_until_the_catalog_changes(client, session):
    make_book(genres=["fantasy"])
    assert client.get(GENRES).json["items"][0]["books_count"] == 1
    # A writer that forgets to invalidate: the cached counts stay.
    quiet = Book(title="Quiet", price_cents=100)
    quiet.genres.append(BookGenre(genre=make_genre("fantasy")))
    session.add(quiet)
    session.commit()
    assert client.get(GENRES).json["items"][0]["books_count"] == 1

    catalog_cache.invalidate()

    assert client.get(GENRES).json["items"][0]["books_count"] == 2
