"""``flask search reindex --if-empty`` (what `make run` and a release run at start), and the
full rebuild into Elasticsearch (osmem-server): a new index, the alias swapped, the old one
deleted."""

from __future__ import annotations

import pytest
from osmem_server import OsmemServer
from sqlalchemy import text

from models import db
from services.search import engine
from services.search.backend import SearchRequest
from tests.factories import make_book


def reindex_if_empty(app):
    with app.app_context():  # as `flask` gives every command
        return app.test_cli_runner().invoke(args=["search", "reindex", "--if-empty"])


def test_missing_documents_are_built_once(app, committed):
    # Given books without search documents
    for n in range(3):
        make_book(f"Sextant Almanac {n}")
    # When the app starts: the documents are built, as a recorded search_rebuild run
    first = reindex_if_empty(app)
    assert first.exit_code == 0, first.output
    assert "search documents built: 3 books" in first.output
    assert db.session.execute(text("SELECT count(*) FROM search_documents")).scalar() == 3
    runs = db.session.execute(
        text("SELECT status FROM job_runs WHERE job = 'search_rebuild'")
    ).scalars()
    assert list(runs) == ["succeeded"]
    db.session.rollback()
    # and at the next start nothing is rebuilt
    again = reindex_if_empty(app)
    assert again.exit_code == 0 and "already built" in again.output


@pytest.fixture
def elasticsearch(app, monkeypatch):
    """The Elasticsearch backend configured, on an osmem-server of its own."""
    server = OsmemServer.start(japanese=False)
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", server.url)
    yield engine.elasticsearch_backend(server.url)
    server.close()


def reindex(app):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["search", "reindex"])


def test_reindex_builds_a_new_index_and_swaps_the_alias(app, committed, elasticsearch):
    # Given books in the catalog and no index yet
    for n in range(3):
        make_book(f"Cormorant Ledger {n}")
    assert elasticsearch.index_state() != "ready"
    # When staff rebuild: documents, then a new index behind the alias, with a summary
    first = reindex(app)
    assert first.exit_code == 0, first.output
    assert "search documents rebuilt: 3 books" in first.output
    assert "indexing into Elasticsearch" in first.output
    assert "3 documents, alias 'books' swapped from nothing" in first.output
    (built,) = elasticsearch.client.indices.get_alias(name="books")
    assert elasticsearch.count() == 3 and elasticsearch.index_state() == "ready"
    found = elasticsearch.search(SearchRequest(q="cormorant ledger"))
    assert found.total == 3
    # When a book is added and the index rebuilt again: a new index replaces the old one
    make_book("Cormorant Ledger 3")
    again = reindex(app)
    assert again.exit_code == 0, again.output
    assert f"4 documents, alias 'books' swapped from {built}" in again.output
    (rebuilt,) = elasticsearch.client.indices.get_alias(name="books")
    assert rebuilt != built
    assert not elasticsearch.client.indices.exists(index=built)  # the old index is deleted
    assert elasticsearch.search(SearchRequest(q="cormorant ledger")).total == 4
