"""Building the neighbour table: read the signals, compute the item-item similarities,
write them as a new generation and make it current in one transaction.

Only one build runs at a time (a PostgreSQL advisory lock); readers keep the previous
generation until the swap commits, then the old rows are deleted."""

from __future__ import annotations

import logging
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select, text, update

from models import Book, BookNeighbour, RecommendationBuild, db
from services.recommendations import cache as recommendation_cache
from services.recommendations import signals as signal_sources
from services.recommendations.similarity import ModelSettings, interaction_matrix, item_neighbours

log = logging.getLogger(__name__)

BUILD_LOCK = 0x7265636F  # pg advisory lock key ("reco")
COPY_BATCH = 50_000


@dataclass
class BuildSummary:
    generation: int | None
    books: int  # books with at least one neighbour
    pairs: int
    signals: int
    readers: int
    seconds: float
    peak_memory_mb: float
    skipped: str | None = None


class Progress:
    """Callbacks a caller (the CLI's progress bar) may pass; all optional."""

    def __init__(
        self,
        start: Callable[[str, int], None] | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> None:
        self.start = start or (lambda label, total: None)
        self.advance = advance or (lambda n: None)


def current_generation() -> int | None:
    return db.session.scalar(
        select(RecommendationBuild.generation).where(RecommendationBuild.current.is_(True))
    )


def _current_pairs() -> int:
    return (
        db.session.scalar(
            select(RecommendationBuild.pairs).where(RecommendationBuild.current.is_(True))
        )
        or 0
    )


def is_empty() -> bool:
    return current_generation() is None


def build(
    dataset_dir: str | Path | None,
    settings: ModelSettings | None = None,
    progress: Progress | None = None,
) -> BuildSummary:
    """Recompute every book's neighbours and swap them in. Commits."""
    settings = settings or ModelSettings()
    progress = progress or Progress()
    started = time.monotonic()
    # The lock lives on a connection of its own: the build commits several times.
    bind = db.session.get_bind()
    with getattr(bind, "engine", bind).connect() as lock:
        if not lock.scalar(select(func.pg_try_advisory_lock(BUILD_LOCK))):
            return BuildSummary(None, 0, 0, 0, 0, 0.0, 0.0, skipped="another build is running")
        try:
            summary = _build(dataset_dir, settings, progress, started)
        finally:
            lock.scalar(select(func.pg_advisory_unlock(BUILD_LOCK)))
            lock.commit()
    summary.peak_memory_mb = peak_memory_mb()
    return summary


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (the build's, when run alone)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _build(dataset_dir, settings: ModelSettings, progress: Progress, started: float):
    book_ids = list(db.session.scalars(select(Book.id).order_by(Book.id)))
    index = {book_id: n for n, book_id in enumerate(book_ids)}
    readers: dict[str, int] = {}
    users, items, ratings = [], [], []
    for source in (
        signal_sources.dataset_signals(dataset_dir),
        signal_sources.shop_signals(settings.order_rating),
    ):
        for signal in source:
            item = index.get(signal.book_id)
            if item is None:
                continue
            users.append(readers.setdefault(signal.reader, len(readers)))
            items.append(item)
            ratings.append(signal.rating)
    matrix = interaction_matrix(
        np.asarray(users, dtype=np.int64),
        np.asarray(items, dtype=np.int64),
        np.asarray(ratings, dtype=np.int64),
        max(len(readers), 1),
        len(book_ids),
        settings,
    )
    del users, items, ratings
    progress.start("similarities", len(book_ids))
    neighbours = item_neighbours(matrix, settings, progress.advance)
    if len(neighbours) == 0 and _current_pairs() > 0:
        # No signals at all (the ratings file went missing?): keep what is served.
        db.session.rollback()
        return BuildSummary(
            None, 0, 0, int(matrix.nnz), len(readers), 0.0, 0.0,
            skipped="no pairs computed; the current generation is kept",
        )  # fmt: skip
    generation = _write(book_ids, neighbours, progress)
    seconds = round(time.monotonic() - started, 2)
    books = len(np.unique(neighbours.items))
    _swap(generation, books, len(neighbours), seconds)
    return BuildSummary(
        generation, books, len(neighbours), int(matrix.nnz), len(readers), seconds, 0.0
    )


def _write(book_ids: list[uuid.UUID], neighbours, progress: Progress) -> int:
    generation = (db.session.scalar(select(func.max(RecommendationBuild.generation))) or 0) + 1
    db.session.add(RecommendationBuild(generation=generation, current=False))
    db.session.flush()
    progress.start("writing", len(neighbours))
    ids = [str(book_id) for book_id in book_ids]
    driver = db.session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(
            "COPY book_neighbours (generation, book_id, rank, neighbour_id, score) FROM STDIN"
        ) as copy,
    ):
        # Text COPY in batches of lines: far faster than a row at a time.
        for start in range(0, len(neighbours), COPY_BATCH):
            stop = min(start + COPY_BATCH, len(neighbours))
            lines = [
                f"{generation}\t{ids[item]}\t{rank}\t{ids[other]}\t{score:.6g}\n"
                for item, rank, other, score in zip(
                    neighbours.items[start:stop].tolist(),
                    neighbours.ranks[start:stop].tolist(),
                    neighbours.others[start:stop].tolist(),
                    neighbours.scores[start:stop].tolist(),
                    strict=True,
                )
            ]
            copy.write("".join(lines))
            progress.advance(stop - start)
    db.session.commit()
    return generation


def _swap(generation: int, books: int, pairs: int, seconds: float) -> None:
    """Make ``generation`` the current one (one transaction), then drop the older rows."""
    db.session.execute(
        update(RecommendationBuild)
        .where(RecommendationBuild.current.is_(True))
        .values(current=False)
    )
    db.session.execute(
        update(RecommendationBuild)
        .where(RecommendationBuild.generation == generation)
        .values(
            current=True,
            finished_at=datetime.now(UTC),
            books=books,
            pairs=pairs,
            seconds=seconds,
        )
    )
    db.session.commit()
    recommendation_cache.published()
    db.session.execute(delete(BookNeighbour).where(BookNeighbour.generation != generation))
    db.session.execute(
        delete(RecommendationBuild).where(RecommendationBuild.generation != generation)
    )
    db.session.commit()
    db.session.execute(text("ANALYZE book_neighbours"))
    db.session.commit()
