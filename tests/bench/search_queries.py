"""Deterministic search query mixes drawn from the catalog: title words, author names,
description words, and misspellings of them (a seeded generator; the queries are not stored)."""

from __future__ import annotations

import random
import re
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

_WORD = re.compile(r"[^\W\d_]{4,}")


def _misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "swap", "double"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def queries(database_url: str, count: int, seed: int = 15) -> list[str]:
    """``count`` search texts: a quarter each from titles, authors, descriptions, typos."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        titles = [
            r[0] for r in conn.execute(text("SELECT title FROM books ORDER BY id LIMIT 5000"))
        ]
        authors = [
            r[0] for r in conn.execute(text("SELECT name FROM authors ORDER BY id LIMIT 5000"))
        ]
        blurbs = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT description FROM books WHERE description IS NOT NULL"
                    " ORDER BY id LIMIT 2000"
                )
            )
        ]
    engine.dispose()
    rng = random.Random(seed)
    words = [w.lower() for blurb in blurbs for w in _WORD.findall(blurb)]
    out = []
    while len(out) < count:
        kind = len(out) % 4
        if kind == 0:
            title_words = _WORD.findall(rng.choice(titles)) or ["book"]
            out.append(" ".join(title_words[: rng.randint(1, 3)]))
        elif kind == 1:
            out.append(rng.choice(authors).split()[-1])
        elif kind == 2:
            out.append(" ".join(rng.sample(words, 2)) if words else "story")
        else:
            title_words = _WORD.findall(rng.choice(titles)) or ["book"]
            out.append(_misspell(rng.choice(title_words).lower(), rng))
    return out


def search_paths(database_url: str, count: int, seed: int = 15) -> list[str]:
    return [f"/api/v1/search?{urlencode({'q': q})}" for q in queries(database_url, count, seed)]


def suggest_paths(database_url: str, count: int, seed: int = 16) -> list[str]:
    prefixes = []
    for q in queries(database_url, count, seed):
        word = q.split()[0] if q.split() else q
        prefixes.append(word[: max(2, min(len(word), 4))])
    return [f"/api/v1/search/suggest?{urlencode({'q': p})}" for p in prefixes]
