"""Generated ratings for the generated catalog (load tests of the recommendations build):
a ``ratings.csv`` shaped like goodbooks' over the generated books' source ids.

Readers have one of ``TASTES`` tastes; a book belongs to one taste (by its number); most of
a reader's ratings are of books of their taste, with popular books rated far more often
than the tail, and liked more. Seeded: every run writes the same file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.catalog.synthetic import GENERATED_SOURCE_ID_START

SEED = 10
TASTES = 200
RATINGS_PER_READER = 50
OWN_TASTE_SHARE = 0.7
CHUNK = 500_000


def write_ratings(path: Path, books: int, ratings: int) -> int:
    """Write ``ratings`` rows (book_id, user_id, rating) over generated books 1..``books``
    to ``path``. Memory stays bounded (rows are made and written in chunks)."""
    if books < TASTES:
        raise ValueError(f"generate at least {TASTES} books for ratings")
    rng = np.random.default_rng(SEED)
    readers = max(ratings // RATINGS_PER_READER, 1)
    tastes = rng.integers(0, TASTES, size=readers)
    per_taste = books // TASTES
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("book_id,user_id,rating\n")
        while written < ratings:
            size = min(CHUNK, ratings - written)
            reader = rng.integers(0, readers, size=size)
            # Popularity: a power law over each taste's books (and over the whole catalog).
            rank = (rng.random(size) ** 3 * per_taste).astype(np.int64)
            own = rng.random(size) < OWN_TASTE_SHARE
            taste = np.where(own, tastes[reader], rng.integers(0, TASTES, size=size))
            book = np.minimum(rank * TASTES + taste, books - 1)
            liked = own & (rng.random(size) < 0.8)
            stars = np.where(liked, rng.integers(4, 6, size=size), rng.integers(1, 6, size=size))
            rows = np.column_stack((book + GENERATED_SOURCE_ID_START + 1, reader + 1, stars))
            np.savetxt(handle, rows, fmt="%d", delimiter=",")
            written += size
    return written
