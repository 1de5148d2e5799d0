"""Deterministic generated data: the commerce fields every imported book lacks (price,
page count, stock) and whole synthetic books (Faker, seeded) for load tests and for the
fallback catalog when the goodbooks dataset is not available.

Everything is derived from the book's ``source_id``, never from ``random()`` state, so that
every run on every machine seeds the same catalog.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from faker import Faker

from services.catalog.sources import Source, SourceBook, isbn13_check_digit

# Generated books live above every goodbooks book_id; book N of a run is START + N, so a
# second ``--generate N`` finds the same source ids and changes nothing.
GENERATED_SOURCE_ID_START = 1_000_000
# Faker is seeded once per block of source ids (seeding per book costs too much at 100k).
_SEED_BLOCK = 1_000
_AUTHOR_POOL = 20_000
_GENRES = (
    "fiction",
    "fantasy",
    "young-adult",
    "romance",
    "mystery",
    "thriller",
    "science-fiction",
    "historical-fiction",
    "classics",
    "non-fiction",
    "biography",
    "horror",
    "poetry",
    "humor",
    "childrens",
    "history",
    "philosophy",
    "science",
    "graphic-novels",
    "contemporary",
)
_LANGUAGES = ("en",) * 16 + ("es", "fr", "de", "it")


@dataclass(frozen=True)
class Commerce:
    price_cents: int
    page_count: int
    on_hand: int
    low_stock_threshold: int


def _hash(source_id: int, purpose: str) -> int:
    digest = hashlib.blake2b(f"{purpose}:{source_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def commerce_for(source_id: int) -> Commerce:
    """Price 4.99..49.99 (always .99), 80..1,199 pages, 0..40 on hand (one book in ten
    sold out, so in-stock filters mean something), threshold 2..8."""
    stock_roll = _hash(source_id, "stock")
    return Commerce(
        price_cents=(4 + _hash(source_id, "price") % 46) * 100 + 99,
        page_count=80 + _hash(source_id, "pages") % 1_120,
        on_hand=0 if stock_roll % 10 == 0 else 1 + (stock_roll // 10) % 40,
        low_stock_threshold=2 + _hash(source_id, "threshold") % 7,
    )


def generated_source(
    count: int, label: str | None = None, is_stored: Callable[[int, int], bool] | None = None
) -> Source:
    """``count`` synthetic books with source ids START+1 .. START+count.

    ``is_stored(first, last)`` answers whether every source id of a range is stored already;
    such blocks are not generated at all (a repeated ``--generate`` then takes seconds)."""
    source = Source(label or f"{count:,} generated books (Faker, seeded)", count, iter(()))
    source.books = _generate(count, source, is_stored)
    return source


def _generate(
    count: int, source: Source, is_stored: Callable[[int, int], bool] | None
) -> Iterator[SourceBook]:
    faker = Faker("en_US")
    author_names = _AuthorPool()
    for block_start in range(0, count, _SEED_BLOCK):
        block = range(block_start, min(block_start + _SEED_BLOCK, count))
        first_id = GENERATED_SOURCE_ID_START + 1 + block_start
        if is_stored and is_stored(first_id, first_id + len(block) - 1):
            source.already_stored += len(block)
            continue
        faker.seed_instance(f"book-block-{block_start}")
        yield from (_book(faker, author_names, GENERATED_SOURCE_ID_START + 1 + n) for n in block)


def _book(faker: Faker, author_names: _AuthorPool, source_id: int) -> SourceBook:
    roll = _hash(source_id, "book")
    return SourceBook(
        source_id=source_id,
        title=faker.catch_phrase().title(),
        # Two pool entries may share a name: dict.fromkeys keeps each name once.
        authors=tuple(dict.fromkeys(author_names[i] for i in _author_indexes(source_id))),
        genres=_genres_for(roll),
        isbn13=_synthetic_isbn13(source_id),
        language=_LANGUAGES[roll % len(_LANGUAGES)],
        publication_year=1850 + (roll >> 8) % 176,
        cover_url=None,
        average_rating=Decimal(250 + (roll >> 16) % 231) / 100,  # 2.50..4.80, like the real data
        ratings_count=int(10 ** (1 + ((roll >> 24) % 5000) / 1000)),
        description=faker.paragraph(nb_sentences=4),
    )


def _author_indexes(source_id: int) -> list[int]:
    roll = _hash(source_id, "authors")
    # Skewed towards low indexes: a few prolific authors, a long tail of one-book authors.
    first = int(((roll % 10_000) / 10_000) ** 2 * _AUTHOR_POOL)
    if (roll >> 20) % 8 == 0:  # one book in eight has a co-author
        second = (first + 1 + (roll >> 24) % (_AUTHOR_POOL - 1)) % _AUTHOR_POOL
        return [first, second]
    return [first]


def _genres_for(roll: int) -> tuple[str, ...]:
    picks: list[str] = []
    for shift in (32, 40, 48)[: 1 + (roll >> 56) % 3]:
        slug = _GENRES[(roll >> shift) % len(_GENRES)]
        if slug not in picks:
            picks.append(slug)
    return tuple(picks)


def _synthetic_isbn13(source_id: int) -> str:
    # 979 prefix: never collides with the 978 ISBNs rebuilt from the goodbooks dataset.
    first12 = f"979{source_id % 10**9:09d}"
    return first12 + isbn13_check_digit(first12)


class _AuthorPool:
    """Author name for a pool index, the same on every run (Faker seeded by the index)."""

    def __init__(self) -> None:
        self._faker = Faker("en_US")
        self._names: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        name = self._names.get(index)
        if name is None:
            self._faker.seed_instance(f"author-{index}")
            name = self._names[index] = self._faker.name()
        return name
