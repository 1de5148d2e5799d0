"""Item-item similarity over a sparse user x item matrix (pure numpy/scipy, no database).

Each rating becomes a positive weight (a dislike is no signal of similarity); two items are
as similar as the cosine of their weight columns, shrunk towards zero when few readers rated
both (``co / (co + shrinkage)``), and only the ``neighbours`` best of each item are kept.
The items are processed in blocks of rows so that memory stays bounded on large catalogs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class ModelSettings:
    """The model's knobs (the values are the ones the evaluation chose; see the README)."""

    neighbours: int = 50
    shrinkage: float = 10.0
    min_co_raters: int = 2
    # Weight of a rating of 1..5 (index 0 unused): only liked-ish ratings count.
    weights: tuple[float, ...] = (0.0, 0.0, 0.0, 0.5, 1.0, 1.5)
    # What an order line counts as (a purchase is an implicit positive).
    order_rating: int = 4
    block_rows: int = 2048


@dataclass(frozen=True)
class Neighbours:
    """The kept pairs: for item ``items[k]``, neighbour ``others[k]`` with ``scores[k]``,
    ranked by ``ranks[k]`` (0 = most similar)."""

    items: np.ndarray
    others: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray

    def __len__(self) -> int:
        return len(self.items)

    def as_matrix(self, n_items: int) -> sparse.csr_matrix:
        return sparse.csr_matrix(
            (self.scores, (self.items, self.others)), shape=(n_items, n_items), dtype=np.float32
        )


def interaction_matrix(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
    settings: ModelSettings,
) -> sparse.csr_matrix:  # fmt: skip
    """users x items weights; a (user, item) given twice keeps its highest rating."""
    weights = np.asarray(settings.weights, dtype=np.float32)[np.clip(ratings, 0, 5)]
    keep = weights > 0
    matrix = sparse.coo_matrix(
        (weights[keep], (users[keep], items[keep])), shape=(n_users, n_items), dtype=np.float32
    ).tocsr()
    # Duplicates were summed by tocsr(); recompute them as the maximum instead.
    if matrix.nnz != int(keep.sum()):
        order = np.lexsort((-weights[keep], items[keep], users[keep]))
        u, i, w = users[keep][order], items[keep][order], weights[keep][order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
        matrix = sparse.csr_matrix((w[first], (u[first], i[first])), shape=(n_users, n_items))
    return matrix


def item_neighbours(
    matrix: sparse.csr_matrix,
    settings: ModelSettings,
    progress: Callable[[int], None] | None = None,
) -> Neighbours:
    """The top ``settings.neighbours`` items of every item, by shrunk cosine."""
    by_item = matrix.T.tocsr().astype(np.float32)
    binary = by_item.copy()
    binary.data[:] = 1.0
    norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    users_by_item = matrix.astype(np.float32).tocsc()
    binary_users = users_by_item.copy()
    binary_users.data[:] = 1.0
    parts: list[tuple[np.ndarray, ...]] = []
    n_items = by_item.shape[0]
    for start in range(0, n_items, settings.block_rows):
        stop = min(start + settings.block_rows, n_items)
        dots = (by_item[start:stop] @ users_by_item).tocsr()
        co = (binary[start:stop] @ binary_users).tocsr()
        dots.sort_indices()
        co.sort_indices()
        parts.append(_top_of_block(dots, co, norms, start, settings))
        if progress is not None:
            progress(stop - start)
    return _concatenate(parts)


def _top_of_block(
    dots: sparse.csr_matrix,
    co: sparse.csr_matrix,
    norms: np.ndarray,
    start: int,
    settings: ModelSettings,
) -> tuple[np.ndarray, ...]:
    rows = np.repeat(np.arange(dots.shape[0]), np.diff(dots.indptr)) + start
    cols = dots.indices
    counts = co.data  # same sparsity pattern as dots: every weight is positive
    scores = dots.data / (norms[rows] * norms[cols]) * (counts / (counts + settings.shrinkage))
    keep = (cols != rows) & (counts >= settings.min_co_raters)
    rows, cols, scores = rows[keep], cols[keep], scores[keep].astype(np.float32)
    # Best first within each row: sort by (row, -score, col) and keep the first k per row.
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    row_starts = np.searchsorted(rows, rows, side="left")
    ranks = np.arange(len(rows)) - row_starts
    top = ranks < settings.neighbours
    return rows[top], cols[top], scores[top], ranks[top]


def _concatenate(parts: Iterable[tuple[np.ndarray, ...]]) -> Neighbours:
    parts = list(parts)
    if not parts:
        empty = np.array([], dtype=np.int64)
        return Neighbours(empty, empty, np.array([], dtype=np.float32), empty)
    items, others, scores, ranks = (np.concatenate(column) for column in zip(*parts, strict=True))
    return Neighbours(items, others, scores, ranks)


def score_users(
    history: sparse.csr_matrix, neighbours: sparse.csr_matrix, exclude_seen: bool = True
) -> np.ndarray:
    """users x items scores: each item scored by the similarity of its neighbours the user
    rated, weighted by how much they liked them. Items already rated score -inf."""
    scores = (history @ neighbours).toarray()
    if exclude_seen:
        seen = history.tocoo()
        scores[seen.row, seen.col] = -np.inf
    return scores
