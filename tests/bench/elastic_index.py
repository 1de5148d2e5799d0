"""``python -m tests.bench.elastic_index URL N``: index the N most-read books of the configured
database into the Elasticsearch at URL (a new index behind the alias), for the bench rows."""

from __future__ import annotations

import sys

from sqlalchemy import text

from app import create_app
from models import db
from services.search import engine


def main(url: str, books: int) -> None:
    app = create_app()
    with app.app_context():
        most_read = db.session.scalars(
            text("SELECT book_id FROM search_documents ORDER BY ratings_count DESC LIMIT :n"),
            {"n": books},
        ).all()
        summary = engine.elasticsearch_backend(url).rebuild(db.session, only=list(most_read))
        print(f"indexed {summary['documents']:,} documents into {summary['index']}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
