"""Typo correction from the indexed vocabulary: a word that few books hold is replaced by a
close spelling (trigram candidates, then edit distance) that many more books hold."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.search.text import edit_distance

# Only a word held by at most this many books is taken for a typo, and a correction must be
# held by this many times more books than the word as typed.
RARE_UP_TO = 2
MORE_BOOKS_FACTOR = 20
_MIN_LENGTH = 3


def correct(session: Session, terms: list[str]) -> list[str]:
    """``terms`` with each rare word replaced by its best close spelling (or kept): one
    statement finds how many books hold each word and the candidates of the rare ones
    (trigram neighbours held by many more books)."""
    if not terms:
        return terms
    rows = session.execute(
        text(
            "SELECT t.n, c.word, c.books, c.likeness"
            " FROM unnest(CAST(:terms AS text[])) WITH ORDINALITY AS t(term, n)"
            " LEFT JOIN search_words w ON w.word = t.term"
            " LEFT JOIN LATERAL ("
            "   SELECT word, books, similarity(word, t.term) AS likeness FROM search_words"
            "   WHERE coalesce(w.books, 0) <= :rare AND length(t.term) >= :min_length"
            "     AND t.term !~ '^[0-9]+$' AND word % t.term AND word <> t.term"
            "     AND books >= greatest(1, coalesce(w.books, 0) * :factor)"
            "   ORDER BY similarity(word, t.term) DESC, books DESC LIMIT 12) c ON true"
            " ORDER BY t.n"
        ),
        {
            "terms": terms,
            "rare": RARE_UP_TO,
            "min_length": _MIN_LENGTH,
            "factor": MORE_BOOKS_FACTOR,
        },
    ).all()
    candidates: dict[int, list] = {}
    for n, word, books, likeness in rows:
        if word is not None:
            candidates.setdefault(n - 1, []).append((word, books, likeness))
    return [_closest(term, candidates.get(i, ())) or term for i, term in enumerate(terms)]


def _closest(term: str, candidates) -> str | None:
    allowed = 1 if len(term) <= 4 else 2
    best = None
    for word, books, likeness in candidates:
        rank = (edit_distance(term, word), -likeness, -books)
        if rank[0] <= allowed and (best is None or rank < best[0]):
            best = (rank, word)
    return best[1] if best else None
