"""``flask search reindex --if-empty`` (what `make run` and a release run at start)."""

from __future__ import annotations

from sqlalchemy import text

from models import db
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
