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
    """``terms`` with each rare word replaced by its best close spelling (or kept)."""
    if not terms:
        return terms
    known = dict(
        session.execute(
            text("SELECT word, books FROM search_words WHERE word = ANY(:terms)"),
            {"terms": terms},
        ).all()
    )
    corrected = []
    for term in terms:
        held = known.get(term, 0)
        replacement = None
        if held <= RARE_UP_TO and len(term) >= _MIN_LENGTH and not term.isdigit():
            replacement = _closest(session, term, held)
        corrected.append(replacement or term)
    return corrected


def _closest(session: Session, term: str, held: int) -> str | None:
    candidates = session.execute(
        text(
            "SELECT word, books, similarity(word, :term) AS likeness FROM search_words "
            "WHERE word % :term AND word <> :term AND books >= :at_least "
            "ORDER BY similarity(word, :term) DESC, books DESC LIMIT 12"
        ),
        {"term": term, "at_least": max(1, held * MORE_BOOKS_FACTOR)},
    ).all()
    allowed = 1 if len(term) <= 4 else 2
    best = None
    for word, books, likeness in candidates:
        rank = (edit_distance(term, word), -likeness, -books)
        if rank[0] <= allowed and (best is None or rank < best[0]):
            best = (rank, word)
    return best[1] if best else None
