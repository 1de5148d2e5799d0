"""Author search ranked by relevance (whole-word matches, then parts of words; a typo is
corrected from the search vocabulary), ties broken by popularity, then by name."""

from __future__ import annotations

from sqlalchemy import Select, and_, case, func, literal, select

from models import Author, Book, BookAuthor, BookStatus, db
from services.catalog.reads import active_book_counts, escape_like, fetch_after
from services.pagination import CursorCodec, Page, SortKey, SortOrder, text_key, uuid_key
from services.search import spelling
from services.search.text import words


def search_authors(query: str, limit: int, cursor: str | None) -> Page:
    """Authors whose folded name holds every word of ``query`` (as a word or a part of one)."""
    terms = words(query)
    if not terms:
        return Page([], None)
    stmt = _ranked(terms)
    if not cursor and db.session.execute(stmt.limit(1)).first() is None:
        corrected = spelling.correct(db.session, terms)
        if corrected != terms:
            terms, stmt = corrected, _ranked(corrected)
    ranked = stmt.subquery()
    order = SortOrder(
        (
            SortKey(ranked.c.score, descending=True),
            SortKey(ranked.c.popularity, descending=True),
            SortKey(ranked.c.name, parse=text_key),
            SortKey(ranked.c.id, parse=uuid_key),
        )
    )
    codec = CursorCodec("search.authors." + " ".join(terms))
    after = codec.decode(order, cursor) if cursor else None
    rows = fetch_after(select(ranked).order_by(*order.order_by()), order, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    counts = active_book_counts(row.id for row in rows)
    items = [{"id": row.id, "name": row.name, "books_count": counts.get(row.id, 0)} for row in rows]
    return Page(items, codec.encode(order, order.values_of(rows[-1])) if more else None)


def _ranked(terms: list[str]) -> Select:
    folded = func.search_fold(Author.name)
    # Terms are letters and digits only (services.search.text), so they are safe in a regex.
    whole_words = and_(*(folded.op("~")(literal(rf"\m{term}\M")) for term in terms))
    # LIKE '%term%' (not strpos) so the trigram index on search_fold(name) serves it
    # (ix_authors_name_folded_trgm; terms of three letters or more).
    anywhere = and_(*(folded.like(f"%{escape_like(term)}%", escape="\\") for term in terms))
    popularity = (
        select(func.coalesce(func.sum(Book.ratings_count + Book.sales_count), 0))
        .join(BookAuthor, BookAuthor.book_id == Book.id)
        .where(BookAuthor.author_id == Author.id, Book.status == BookStatus.ACTIVE)
        .scalar_subquery()
    )
    return select(
        Author.id,
        Author.name,
        case((whole_words, 2), else_=1).label("score"),
        popularity.label("popularity"),
    ).where(anywhere)
