"""GET /api/v1/search, /search/suggest and /authors?q= on the real goodbooks catalog:
relevance, typos, filters and facet counts checked against SQL, paging, hostile input."""

from __future__ import annotations

from collections import Counter

import pytest
from osmem_server import OsmemServer
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.search import engine
from tests.conftest import truncate_all
from tests.support.aws import free_port
from tests.support.search import load_real_catalog

SEARCH = "/api/v1/search"
SUGGEST = "/api/v1/search/suggest"


@pytest.fixture(scope="module")
def catalog(app, engine):
    """Given the real catalog, imported and indexed (read-only for this module's tests)."""
    load_real_catalog(engine, app.config["CATALOG_DATASET_DIR"])
    yield engine
    truncate_all(engine)


# osmem-server indexes about 60 documents/s here: its index holds the most-read books only.
ELASTICSEARCH_BOOKS = 1_000


@pytest.fixture(scope="module")
def elasticsearch_url(catalog):
    """An osmem-server (in-memory, OpenSearch-compatible) holding the index of the
    ELASTICSEARCH_BOOKS most-read books of the catalog."""
    server = OsmemServer.start(japanese=False)
    try:
        with Session(catalog) as session:
            most_read = session.scalars(
                text("SELECT book_id FROM search_documents ORDER BY ratings_count DESC LIMIT :n"),
                {"n": ELASTICSEARCH_BOOKS},
            ).all()
            engine.elasticsearch_backend(server.url).rebuild(session, only=most_read)
        yield server.url
    finally:
        server.close()


@pytest.fixture(params=["postgres", "elasticsearch"])
def backend(request, app, catalog, monkeypatch):
    """Each search test runs against both backends."""
    if request.param == "elasticsearch":
        monkeypatch.setitem(
            app.config, "ELASTICSEARCH_URL", request.getfixturevalue("elasticsearch_url")
        )
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", request.param)
    return request.param


@pytest.fixture
def search(backend, client):
    def get(expect: int = 200, **params):
        response = client.get(SEARCH, query_string=params)
        assert response.status_code == expect, response.json
        if expect == 200:
            assert response.headers["X-Search-Backend"] == backend
        return response

    return get


def osmem_gap(request, backend: str, what: str) -> None:
    """Expected to fail on osmem-server (an in-memory test server, not Elasticsearch): the
    test still runs and reports XPASS if osmem does it."""
    if backend == "elasticsearch":
        request.applymarker(pytest.mark.xfail(reason=f"osmem-server: {what}", strict=False))


def titles(response) -> list[str]:
    return [item["title"] for item in response.json["items"]]


def all_pages(search, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        body = search(**params, **({"cursor": cursor} if cursor else {})).json
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return items


def test_harry_potter_comes_first(search, backend, request):
    osmem_gap(request, backend, "its BM25 favours the short 'Harry Potter Boxset' title")
    response = search(q="harry potter")
    assert titles(response)[0].startswith("Harry Potter and the Sorcerer's Stone")
    assert response.json["did_you_mean"] is None
    first = response.json["items"][0]
    assert "<mark>Harry</mark> <mark>Potter</mark>" in first["highlight"]["title"]


def test_a_word_only_in_descriptions_finds_the_hobbit(search, catalog):
    with catalog.connect() as conn:
        in_titles_or_authors = conn.execute(
            text(
                "SELECT count(*) FROM search_documents"
                " WHERE search_fold(title || authors) LIKE '%bilbo%'"
            )
        ).scalar()
    assert in_titles_or_authors == 0
    response = search(q="bilbo")
    assert "The Hobbit" in titles(response)[:3]
    hobbit = next(i for i in response.json["items"] if i["title"] == "The Hobbit")
    assert "<mark>Bilbo</mark>" in hobbit["highlight"]["description"]


@pytest.mark.parametrize(
    ("typed", "meant", "expected"),
    [("hary poter", "harry potter", "Harry Potter"), ("tolkein", "tolkien", "J.R.R. Tolkien")],
)
def test_typos_still_find_the_book_and_suggest_the_spelling(search, typed, meant, expected):
    body = search(q=typed).json
    assert body["did_you_mean"] == meant
    top = body["items"][:3]
    assert top and all(
        expected in item["title"] or expected in [a["name"] for a in item["authors"]]
        for item in top
    ), [item["title"] for item in top]


def test_accents_fold_both_ways(search):
    assert "Les Misérables" in titles(search(q="les miserables"))
    assert "Les Misérables" in titles(search(q="LES MISÉRABLES"))


def test_stemming_matches_other_forms_of_a_word(search):
    assert set(titles(search(q="dragons", limit=100))) & set(titles(search(q="dragon", limit=100)))


FILTERS = {"genre": "fantasy", "price_min": 1000, "price_max": 3999, "rating_min": "4"}


def test_filters_and_facet_counts_agree_with_sql(search, catalog):
    # Given every book that matches "dragon" (no filters), read from the search itself...
    matched = {item["id"] for item in all_pages(search, q="dragon", limit=100)}
    assert 10 < len(matched) < 1000
    # ...and their facts read from the catalog tables (not the search documents).
    with catalog.connect() as conn:
        books = {
            str(row.id): row
            for row in conn.execute(
                text(
                    "SELECT b.id, b.language, b.price_cents, b.average_rating,"
                    " array(SELECT g.slug FROM book_genres bg JOIN genres g ON g.id = bg.genre_id"
                    "       WHERE bg.book_id = b.id) AS genres"
                    " FROM books b WHERE b.id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": list(matched)},
            )
        }

    def keeps(book, leave_out=None) -> bool:
        return (
            (leave_out == "genre" or "fantasy" in book.genres)
            and (leave_out == "price" or 1000 <= book.price_cents <= 3999)
            and (leave_out == "rating" or book.average_rating >= 4)
        )

    # When searching with the filters
    body = search(q="dragon", limit=100, **FILTERS).json
    # Then the items and total are exactly the filtered books
    expected = {book_id for book_id, book in books.items() if keeps(book)}
    assert {item["id"] for item in all_pages(search, q="dragon", limit=100, **FILTERS)} == expected
    assert body["total"] == len(expected) and body["total_is_exact"] is True
    # and each facet counts with every filter but its own.
    genres = Counter(g for b in books.values() if keeps(b, "genre") for g in b.genres)
    assert {f["value"]: f["count"] for f in body["facets"]["genres"]} == dict(
        genres.most_common(20)
    ) or len(genres) > 20
    for facet in body["facets"]["genres"]:
        assert facet["count"] == genres[facet["value"]]
    languages = Counter(b.language for b in books.values() if keeps(b) and b.language)
    assert {f["value"]: f["count"] for f in body["facets"]["languages"]} == dict(languages)
    for band in body["facets"]["price"]:
        high = band["to_cents"] or 10**9
        assert band["count"] == sum(
            keeps(b, "price") and band["from_cents"] <= b.price_cents < high for b in books.values()
        )
    for bucket in body["facets"]["rating"]:
        assert bucket["count"] == sum(
            keeps(b, "rating") and b.average_rating >= bucket["min"] for b in books.values()
        )


@pytest.mark.parametrize(
    "sort", ["relevance", "price", "-price", "newest", "rating", "bestselling"]
)
def test_paging_has_no_gaps_or_duplicates(search, sort, backend, request):
    if sort == "relevance":
        osmem_gap(request, backend, "search_after on a function_score _score repeats hits")
    whole = search(q="dragon", limit=100, sort=sort).json
    assert 20 < whole["total"] <= 100 and whole["next_cursor"] is None
    seen = all_pages(search, q="dragon", limit=9, sort=sort)
    assert [item["id"] for item in seen] == [item["id"] for item in whole["items"]]
    if sort == "price":
        prices = [item["price_cents"] for item in seen]
        assert prices == sorted(prices)


HOSTILE = [
    "title:(x) AND *",
    '"unbalanced',
    "back\\slash\\",
    "/*",
    "*",
    "'; DROP TABLE books; --",
    "%_%",
    "harry)(potter",
    "a:* & !b | c <-> d",
    "<script>alert(1)</script>",
    "x" * 200,
    "the",
    "ünïcödé ✓ 龍",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_query_syntax_is_plain_text(search, query):
    body = search(q=query).json
    assert body["total"] >= 0 and isinstance(body["items"], list)


def test_a_syntax_character_search_finds_the_words_around_it(search, backend, request):
    osmem_gap(request, backend, "its BM25 favours the short 'Harry Potter Boxset' title")
    assert titles(search(q="harry)(potter"))[0].startswith("Harry Potter and the Sorcerer")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "x", "colour": "red"}, "colour"),
        ({"q": "x", "sort": "title"}, "sort"),
        ({"q": "x", "rating_min": "6"}, "rating_min"),
        ({"q": "x", "price_min": "5", "price_max": "1"}, "price_min"),
    ],
)
def test_bad_parameters_are_refused_by_name(search, params, field):
    body = search(expect=422, **params).json
    assert field in str(body["errors"])


def test_a_cursor_only_works_for_its_own_search(search):
    cursor = search(q="love", limit=5).json["next_cursor"]
    search(expect=400, q="war", limit=5, cursor=cursor)
    search(expect=400, q="love", limit=5, cursor=cursor[:-2] + "xx")
    search(expect=400, q="love", limit=5, sort="price", cursor=cursor)


def test_suggest_completes_titles_and_authors(backend, client):
    harr = client.get(SUGGEST, query_string={"q": "harr"}).json["items"]
    assert 0 < len(harr) <= 10
    assert sum(s["type"] == "book" and s["text"].startswith("Harry Potter") for s in harr) >= 5
    tolk = client.get(SUGGEST, query_string={"q": "tolk"}).json["items"]
    assert {"type": "author", "text": "J.R.R. Tolkien"} in [
        {"type": s["type"], "text": s["text"]} for s in tolk
    ]
    assert client.get(SUGGEST, query_string={"q": "harr", "x": "1"}).status_code == 422
    assert client.get(SUGGEST, query_string={"q": "/*"}).json["items"] == []


def test_authors_rank_by_relevance_then_popularity(catalog, client):
    names = [
        a["name"] for a in client.get("/api/v1/authors", query_string={"q": "king"}).json["items"]
    ]
    assert names.index("Stephen King") < names.index("A.S. King")
    assert names[0] == "Stephen King"
    typo = client.get("/api/v1/authors", query_string={"q": "tolkein"}).json["items"]
    assert typo[0]["name"] == "J.R.R. Tolkien"


def test_elasticsearch_down_postgresql_answers(app, catalog, client, monkeypatch):
    # Given the Elasticsearch backend configured, but nothing listening at its URL
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    # When a shopper searches, then PostgreSQL answers, and says so
    response = client.get(SEARCH, query_string={"q": "harry potter"})
    assert response.status_code == 200
    assert response.headers["X-Search-Backend"] == "postgres"
    assert titles(response)[0].startswith("Harry Potter and the Sorcerer's Stone")
    suggested = client.get(SUGGEST, query_string={"q": "tolk"})
    assert suggested.headers["X-Search-Backend"] == "postgres" and suggested.json["items"]
    # and /readyz names search as down.
    ready = client.get("/readyz")
    assert ready.json["checks"]["search"]["status"] == "down"
