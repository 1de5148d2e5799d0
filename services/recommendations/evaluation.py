"""Offline evaluation on ``ratings.csv``: a deterministic hold-out of liked ratings, then
recall@10 and hit rate@10 of the item-item model against a popularity baseline."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from services.recommendations.similarity import (
    ModelSettings,
    interaction_matrix,
    item_neighbours,
    score_users,
)

SEED = 20261201
MIN_RATINGS = 10  # readers with fewer ratings are never held out from
LIKED = 4  # a held-out rating is a 4 or a 5
HOLD_OUT_SHARE = 0.2
K = 10


@dataclass(frozen=True)
class Ratings:
    users: np.ndarray  # dense 0..n_users-1
    items: np.ndarray  # dense 0..n_items-1
    ratings: np.ndarray
    item_ids: np.ndarray  # dense index -> the dataset's book_id
    n_users: int


def read_ratings(path: Path) -> Ratings:
    """ratings.csv as dense index arrays (rows in the file's order)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [
            (int(row["user_id"]), int(row["book_id"]), int(row["rating"]))
            for row in csv.DictReader(handle)
        ]
    raw = np.array(rows, dtype=np.int64).reshape(-1, 3)
    user_ids, users = np.unique(raw[:, 0], return_inverse=True)
    item_ids, items = np.unique(raw[:, 1], return_inverse=True)
    return Ratings(users, items, raw[:, 2], item_ids, len(user_ids))


def split(data: Ratings) -> tuple[np.ndarray, dict[int, set[int]]]:
    """(mask of training rows, held-out liked items per user). For each reader with at least
    MIN_RATINGS ratings, HOLD_OUT_SHARE of their 4-5 star ratings (at least one) are held out,
    chosen by a generator with a fixed seed over the rows in a fixed order: the same split
    every run."""
    rng = np.random.default_rng(SEED)
    train = np.ones(len(data.users), dtype=bool)
    held: dict[int, set[int]] = {}
    order = np.lexsort((data.items, data.users))
    counts = np.bincount(data.users, minlength=data.n_users)
    boundaries = np.searchsorted(data.users[order], np.arange(data.n_users + 1))
    for user in range(data.n_users):
        if counts[user] < MIN_RATINGS:
            continue
        rows = order[boundaries[user] : boundaries[user + 1]]
        liked = rows[data.ratings[rows] >= LIKED]
        if len(liked) < 2:
            continue
        size = max(1, round(len(liked) * HOLD_OUT_SHARE))
        chosen = rng.choice(liked, size=size, replace=False)
        train[chosen] = False
        held[user] = {int(data.items[row]) for row in chosen}
    return train, held


def _metrics(top: np.ndarray, held: dict[int, set[int]]) -> dict[str, float]:
    recalls, hits = [], 0
    for user, items in held.items():
        found = len(items.intersection(top[user].tolist()))
        recalls.append(found / len(items))
        hits += found > 0
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "hit_rate_at_10": round(hits / len(held), 4),
    }


def _top_k(scores: np.ndarray, users: list[int]) -> np.ndarray:
    """Each user's K best items, ties broken by the lower item index. A stable sort rather
    than ``argpartition``: which of several tied items a partition keeps depends on the
    CPU's SIMD path, and popularity (whole counts) ties a lot, so the figures would differ
    from one machine to another."""
    top = np.full((scores.shape[0], K), -1, dtype=np.int64)
    for start in range(0, len(users), 256):  # blocks: bounded memory for the sort's indices
        block = users[start : start + 256]
        top[block] = np.argsort(-scores[block], axis=1, kind="stable")[:, :K]
    return top


def evaluate(path: Path, settings: ModelSettings | None = None) -> dict:
    """The evaluation's numbers for ``settings`` (the production ones by default)."""
    settings = settings or ModelSettings()
    data = read_ratings(path)
    n_items = len(data.item_ids)
    train, held = split(data)
    history = interaction_matrix(
        data.users[train], data.items[train], data.ratings[train], data.n_users, n_items, settings
    )
    neighbours = item_neighbours(history, settings).as_matrix(n_items)
    users = sorted(held)
    model_scores = score_users(history, neighbours)
    liked_train = train & (data.ratings >= LIKED)
    popularity = np.bincount(data.items[liked_train], minlength=n_items).astype(np.float64)
    popular_scores = np.tile(popularity, (data.n_users, 1))
    seen = sparse.coo_matrix(
        (np.ones(int(train.sum())), (data.users[train], data.items[train])),
        shape=(data.n_users, n_items),
    )
    popular_scores[seen.row, seen.col] = -np.inf
    return {
        "model": _metrics(_top_k(model_scores, users), held),
        "popularity": _metrics(_top_k(popular_scores, users), held),
        "users": len(users),
        "held_out": sum(len(items) for items in held.values()),
        "settings": {
            "neighbours": settings.neighbours,
            "shrinkage": settings.shrinkage,
            "min_co_raters": settings.min_co_raters,
            "weights": list(settings.weights[1:]),
        },
    }
