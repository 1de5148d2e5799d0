"""The PostgreSQL search documents: built from the catalog tables in one statement, written
only over an older version, and the vocabulary that typo correction picks words from."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# A goodbooks title carries its series: "Harry Potter and the ... (Harry Potter, #1)".
SERIES_PATTERN = r"\(([^()]*?),? *#[^()]*\)\s*$"

# One row per active book; `{where}` picks the books. Weights: title and authors A, series
# and genres B, description C; english stemming over accent-folded text. The version is the
# last change of the book or of its stock (a stock-only change, in/out of stock, is newer).
_BUILD = """
SELECT b.id AS book_id, greatest(b.updated_at, st.changed_at) AS version, b.title,
       coalesce(au.names, '') AS authors, coalesce(au.ids, '{{}}') AS author_ids,
       coalesce(ge.slugs, '{{}}') AS genres, b.description, b.language, b.publication_year,
       b.price_cents, b.average_rating, b.ratings_count, b.sales_count,
       coalesce(st.available, 0) > 0 AS in_stock,
       setweight(to_tsvector('english', search_fold(b.title)), 'A')
       || setweight(to_tsvector('english', search_fold(coalesce(au.names, ''))), 'A')
       || setweight(to_tsvector('english', search_fold(
              coalesce(substring(b.title from :series), '') || ' '
              || replace(coalesce(array_to_string(ge.slugs, ' '), ''), '_', ' '))), 'B')
       || setweight(to_tsvector('english', search_fold(coalesce(b.description, ''))), 'C')
         AS document,
       to_tsvector('simple', search_fold(b.title || ' ' || coalesce(au.names, '')))
         AS prefixes,
       now() AS indexed_at
FROM books b
LEFT JOIN LATERAL (
    SELECT string_agg(a.name, ', ' ORDER BY ba.position, a.name) AS names,
           array_agg(a.id ORDER BY ba.position, a.name) AS ids
    FROM book_authors ba JOIN authors a ON a.id = ba.author_id
    WHERE ba.book_id = b.id) au ON true
LEFT JOIN LATERAL (
    SELECT array_agg(g.slug ORDER BY bg.position, g.slug) AS slugs
    FROM book_genres bg JOIN genres g ON g.id = bg.genre_id
    WHERE bg.book_id = b.id) ge ON true
LEFT JOIN LATERAL (
    SELECT sum(s.on_hand - s.reserved) AS available, max(s.updated_at) AS changed_at
    FROM stock s WHERE s.book_id = b.id
) st ON true
WHERE b.status = 'active' {where}
"""
_COLUMNS = (
    "book_id, version, title, authors, author_ids, genres, description, language, "
    "publication_year, price_cents, average_rating, ratings_count, sales_count, in_stock, "
    "document, prefixes, indexed_at"
)
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[1:])

# Only a build of the same or a newer version of the book replaces the stored one, so a late
# write (a slow batch that read the book before a newer change) never undoes a newer one.
_UPSERT = f"""
INSERT INTO search_documents ({_COLUMNS})
{_BUILD}
ON CONFLICT (book_id) DO UPDATE SET {_UPDATES}
WHERE search_documents.version <= excluded.version
"""

_WORDS = r"""
SELECT w.word, count(DISTINCT d.book_id) AS books
FROM search_documents d,
     regexp_split_to_table(
         search_fold(d.title || ' ' || d.authors || ' ' || coalesce(d.description, '')),
         '[^[:alnum:]]+') AS w(word)
WHERE length(w.word) BETWEEN 2 AND 40 {where}
GROUP BY w.word
"""

# Suggestion rows (services.search.postgres suggest): a book's title completed from the words
# of its title and authors; an author's name from its own words, as popular as their books.
_SUGGESTION_UPDATES = (
    " ON CONFLICT (kind, id) DO UPDATE SET text = excluded.text,"
    " popularity = excluded.popularity, prefixes = excluded.prefixes"
    " WHERE (search_suggestions.text, search_suggestions.popularity, search_suggestions.prefixes)"
    " IS DISTINCT FROM (excluded.text, excluded.popularity, excluded.prefixes)"
)
_BOOK_SUGGESTIONS = (
    "INSERT INTO search_suggestions (kind, id, text, popularity, prefixes)"
    " SELECT 'book', d.book_id, d.title, d.ratings_count + d.sales_count, d.prefixes"
    " FROM search_documents d {where}" + _SUGGESTION_UPDATES
)
_AUTHOR_SUGGESTIONS = (
    "INSERT INTO search_suggestions (kind, id, text, popularity, prefixes)"
    " SELECT 'author', a.id, a.name, sum(d.ratings_count + d.sales_count),"
    " to_tsvector('simple', search_fold(a.name))"
    " FROM {books} JOIN authors a ON a.id = x.author_id {where}"
    " GROUP BY a.id, a.name" + _SUGGESTION_UPDATES
)

# A full rebuild rewrites only the documents that differ: rewriting all of them (it deleted
# every row, then inserted them again) left the table and its GIN index with a dead copy of
# each row until a vacuum, and twice the pages after it, which every search then read.
_COMPARED = [c for c in _COLUMNS.split(", ")[1:] if c != "indexed_at"]
_OLD, _NEW = (", ".join(f"{row}.{c}" for c in _COMPARED) for row in ("o", "n"))
_REBUILD = f"""
INSERT INTO search_documents ({_COLUMNS})
SELECT n.* FROM ({_BUILD}) n LEFT JOIN search_documents o ON o.book_id = n.book_id
WHERE o.book_id IS NULL
   OR ({_OLD}) IS DISTINCT FROM ({_NEW})
ON CONFLICT (book_id) DO UPDATE SET {_UPDATES}
WHERE search_documents.version <= excluded.version
"""


def write_documents(session: Session, book_ids: Sequence[uuid.UUID]) -> tuple[int, int]:
    """Rebuild the documents of these books: (written, removed). An archived or deleted book
    loses its document; words new to the vocabulary are added. Idempotent."""
    ids = list(book_ids)
    if not ids:
        return 0, 0
    authors_before = session.scalars(
        text("SELECT DISTINCT unnest(author_ids) FROM search_documents WHERE book_id = ANY(:ids)"),
        {"ids": ids},
    ).all()
    written = session.execute(
        text(_UPSERT.format(where="AND b.id = ANY(:ids)")), {"ids": ids, "series": SERIES_PATTERN}
    ).rowcount
    removed = session.execute(
        text(
            "DELETE FROM search_documents d WHERE d.book_id = ANY(:ids) AND NOT EXISTS "
            "(SELECT 1 FROM books b WHERE b.id = d.book_id AND b.status = 'active')"
        ),
        {"ids": ids},
    ).rowcount
    _write_suggestions(session, ids, authors_before)
    session.execute(
        text(
            "INSERT INTO search_words (word, books) "
            + _WORDS.format(where="AND d.book_id = ANY(:ids)")
            + " ON CONFLICT (word) DO NOTHING"
        ),
        {"ids": ids},
    )
    return written, removed


def rebuild_all(session: Session) -> int:
    """Every document and the whole vocabulary rebuilt from the catalog (the caller commits)."""
    session.execute(
        text(
            "DELETE FROM search_documents d WHERE NOT EXISTS "
            "(SELECT 1 FROM books b WHERE b.id = d.book_id AND b.status = 'active')"
        )
    )
    session.execute(text(_REBUILD.format(where="")), {"series": SERIES_PATTERN})
    written = session.execute(text("SELECT count(*) FROM search_documents")).scalar()
    rebuild_vocabulary(session)
    session.execute(
        text(
            "DELETE FROM search_suggestions s WHERE CASE s.kind"
            " WHEN 'book' THEN NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.book_id = s.id)"
            " ELSE s.id NOT IN (SELECT unnest(author_ids) FROM search_documents) END"
        )
    )
    session.execute(text(_BOOK_SUGGESTIONS.format(where="")))
    session.execute(
        text(
            _AUTHOR_SUGGESTIONS.format(
                books="search_documents d CROSS JOIN unnest(d.author_ids) AS x(author_id)",
                where="",
            )
        )
    )
    session.execute(text("ANALYZE search_documents"))
    session.execute(text("ANALYZE search_suggestions"))
    return written


def vacuum(session: Session) -> None:
    """After a committed full rebuild: the space of the replaced rows reused, the planner's
    statistics fresh. VACUUM runs on a connection of its own, outside any transaction
    (readers are not blocked); skipped, with a warning, when another transaction holds the
    tables (a concurrent rebuild or ANALYZE) for more than a second."""
    try:
        with session.get_bind().engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SET lock_timeout = '1s'"))
            connection.execute(
                text("VACUUM (ANALYZE) search_documents, search_suggestions, search_words")
            )
    except OperationalError:
        log.warning("search tables not vacuumed after the rebuild", exc_info=True)


def _write_suggestions(session: Session, ids: list, authors_before: Sequence) -> None:
    """The suggestion rows of these books and of their authors, before and after the change
    (an author's popularity sums their books' through book_authors' index)."""
    session.execute(
        text(
            "DELETE FROM search_suggestions s WHERE s.kind = 'book' AND s.id = ANY(:ids)"
            " AND NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.book_id = s.id)"
        ),
        {"ids": ids},
    )
    session.execute(
        text(_BOOK_SUGGESTIONS.format(where="WHERE d.book_id = ANY(:ids)")), {"ids": ids}
    )
    authors = session.scalars(
        text(
            "SELECT DISTINCT author_id FROM book_authors WHERE book_id = ANY(:ids)"
            " UNION SELECT unnest(CAST(:before AS uuid[]))"
        ),
        {"ids": ids, "before": list(authors_before)},
    ).all()
    if not authors:
        return
    # An author left with no indexed book is no longer suggested; the others are upserted
    # below, rewritten only where their text, popularity or prefixes changed.
    session.execute(
        text(
            "DELETE FROM search_suggestions s WHERE s.kind = 'author' AND s.id = ANY(:authors)"
            " AND NOT EXISTS (SELECT 1 FROM book_authors x JOIN search_documents d"
            " ON d.book_id = x.book_id WHERE x.author_id = s.id)"
        ),
        {"authors": authors},
    )
    session.execute(
        text(
            _AUTHOR_SUGGESTIONS.format(
                books="book_authors x JOIN search_documents d ON d.book_id = x.book_id",
                where="WHERE x.author_id = ANY(:authors)",
            )
        ),
        {"authors": authors},
    )


def rebuild_vocabulary(session: Session) -> None:
    session.execute(text("DELETE FROM search_words"))
    session.execute(text("INSERT INTO search_words (word, books) " + _WORDS.format(where="")))
