"""Hot searches come from the catalog's page cache: one Redis round trip and no SQL when warm
(counted on the real Redis with MONITOR), ETag/304, the backend header, and a book change
makes them stale."""

from __future__ import annotations

import time

import pytest
import redis
from osmem_server import OsmemServer
from sqlalchemy import event, update

from models import Book, db
from services.catalog import cache as catalog_cache
from services.search import engine
from services.search.documents import write_documents
from services.search.elastic_index import STATE_CHECK_SECONDS
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_book

SEARCH = "/api/v1/search"
SUGGEST = "/api/v1/search/suggest"
_END = "h15s-search-cache-end"


@pytest.fixture
def indexed(client):
    book = make_book("Nocturne for Lanterns", authors=["Ottilie Marchbank"])
    write_documents(db.session, [book.id])
    db.session.commit()
    return book


def redis_commands(send) -> list[str]:
    """The commands the app sent to its Redis database while ``send()`` ran (MONITOR on the
    real server, this test database only; the marker command ends the watch)."""
    watcher = redis.Redis.from_url(TEST_REDIS_URL)
    database = str(watcher.connection_pool.connection_kwargs.get("db", 0))
    seen = []
    with watcher.monitor() as monitor:
        send()
        watcher.echo(_END)
        while True:
            command = monitor.next_command()
            if _END in command["command"]:
                break
            if str(command["db"]) == database and not command["command"].startswith("SELECT"):
                seen.append(command["command"])
    return seen


def sql_statements(engine, send) -> list[str]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements


@pytest.mark.parametrize(
    "path, params", [(SEARCH, {"q": "lanterns nocturne"}), (SUGGEST, {"q": "noct"})]
)
def test_a_warm_search_is_one_redis_round_trip_and_no_sql(client, engine, indexed, path, params):
    # Given a search answered once (built, then cached)
    first = client.get(path, query_string=params)
    assert first.status_code == 200 and first.json["items"]
    # When it is asked again
    answers = []
    commands = redis_commands(
        lambda: answers.append(
            sql_statements(engine, lambda: answers.append(client.get(path, query_string=params)))
        )
    )
    again, statements = answers
    # then the stored bytes are sent as they are: one MGET (generations + page), no SQL
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["X-Search-Backend"] == "postgres"
    assert [command.split(" ", 1)[0] for command in commands] == ["MGET"], commands
    assert statements == []


def test_etag_then_304_with_the_backend_header(client, indexed):
    first = client.get(SEARCH, query_string={"q": "marchbank"})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")

    again = client.get(SEARCH, query_string={"q": "marchbank"}, headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["X-Search-Backend"] == "postgres"


def test_a_book_change_makes_cached_searches_stale(client, indexed):
    # Given a cached search
    assert client.get(SEARCH, query_string={"q": "lanterns"}).json["total"] == 1
    # When the book is renamed behind the cache (its document rewritten): the cached answer
    # stays
    db.session.execute(
        update(Book).where(Book.id == indexed.id).values(title="Quiet Harbour Almanac")
    )
    write_documents(db.session, [indexed.id])
    db.session.commit()
    assert client.get(SEARCH, query_string={"q": "lanterns"}).json["total"] == 1
    # and once the catalog generation moves (what the reindex task does after a batch), the
    # search finds it by its new title only
    catalog_cache.invalidate()
    assert client.get(SEARCH, query_string={"q": "lanterns"}).json["total"] == 0
    assert client.get(SEARCH, query_string={"q": "harbour almanac"}).json["total"] == 1


def test_a_fallback_answer_is_never_cached_as_elasticsearch(app, client, indexed, monkeypatch):
    # Given the Elasticsearch backend, its index built and seen ready by this process
    server = OsmemServer.start(japanese=False)
    try:
        engine.elasticsearch_backend(server.url).rebuild(db.session)
        monkeypatch.setitem(app.config, "SEARCH_BACKEND", "elasticsearch")
        monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", server.url)
        seen = client.get(SEARCH, query_string={"q": "nocturne"})
        assert seen.headers["X-Search-Backend"] == "elasticsearch"
        seen_at = time.monotonic()
    finally:
        server.close()
    # When Elasticsearch goes away before the process checks it again, PostgreSQL answers
    for _ in range(2):
        response = client.get(SEARCH, query_string={"q": "marchbank"})
        # each time (the answer is not cached under Elasticsearch's name), and says so
        assert response.status_code == 200 and response.json["total"] == 1
        assert response.headers["X-Search-Backend"] == "postgres"
        assert response.headers["Cache-Control"] == "no-store"
    assert time.monotonic() - seen_at < STATE_CHECK_SECONDS  # still taken for ready
