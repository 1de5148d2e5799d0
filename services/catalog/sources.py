"""Reading the goodbooks dataset (and fetching its books.csv) into clean ``SourceBook`` rows.

The dataset's known defects are repaired here and each repair is recorded on the book
(``SourceBook.defects``) so that the import can count them:

- ``isbn13`` is a float whose last digits are lost: ISBN-13 is rebuilt from ``isbn``
  zero-padded to 10 characters (``978`` + its first 9 digits + a recomputed check digit).
  The ISBN-10 check digit itself is ignored (23 rows carry a wrong one, yet their first
  9 digits agree with the float ``isbn13``). No ``isbn`` or a malformed one: NULL.
- "nophoto" placeholder covers become NULL.
- An empty ``language_code`` becomes NULL; the rest mix ISO 639-2 (``eng``, ``fre``) and
  locale tags (``en-US``, ``en-GB``): they are normalised to ISO 639-1 (``en``, ``fr``) so
  that one ``language=en`` filter finds every English book. Codes with no 639-1 form
  (``fil``, ``mul``) are kept as they are.
- ``original_publication_year`` is a float, may be empty (NULL) or negative: negative
  years are real ancient works (Homer, Plato) and are kept as negative integers (BCE).
- ``authors`` is one ", "-separated string: split into ordered names, duplicates dropped.
"""

from __future__ import annotations

import csv
import os
import re
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

BOOKS_FILE = "books.csv"
GENRES_FILE = "book_genres.csv"
DESCRIPTIONS_FILE = "book_descriptions.csv"
LANGUAGE_MAX_LENGTH = 16
_ISBN10 = re.compile(r"\d{9}[\dX]")

# Genre names that title-casing the slug would get wrong.
GENRE_NAMES = {
    "childrens": "Children's",
    "non-fiction": "Nonfiction",
    "mystery-thriller": "Mystery & Thriller",
    "science-fiction-fantasy": "Science Fiction & Fantasy",
}


@dataclass(frozen=True)
class SourceBook:
    """One book as the import will write it (commerce fields come from ``source_id``)."""

    source_id: int
    title: str
    authors: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()  # slugs, in the source's order
    isbn13: str | None = None
    language: str | None = None
    publication_year: int | None = None
    cover_url: str | None = None
    average_rating: Decimal = Decimal("0")
    ratings_count: int = 0
    # {"1": n, ..., "5": n} from ratings_1..ratings_5, None when the row has none.
    rating_histogram: dict[str, int] | None = None
    description: str | None = None
    # Keys of the defects repaired on the way in (counted in the import summary).
    defects: frozenset[str] = frozenset()


@dataclass
class Source:
    """Where the books come from, how many there are, and the rows that were unusable."""

    label: str
    total: int
    books: Iterator[SourceBook]
    rows_skipped: Counter = field(default_factory=Counter)
    # Books the source recognised as stored without producing them (generated blocks).
    already_stored: int = 0


def isbn13_check_digit(first12: str) -> str:
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn13_from_isbn10(raw: str | None) -> str | None:
    """ISBN-13 for an ISBN-10 whose leading zeros may have been lost; None if malformed."""
    value = (raw or "").strip().upper()
    if not value or len(value) > 10:
        return None
    value = value.zfill(10)
    if not _ISBN10.fullmatch(value):
        return None
    first12 = "978" + value[:9]
    return first12 + isbn13_check_digit(first12)


def genre_slug(raw: str) -> str:
    return raw.strip().lower().replace("_", "-").replace(" ", "-")


def genre_name(slug: str) -> str:
    return GENRE_NAMES.get(slug) or slug.replace("-", " ").title()


def split_authors(raw: str | None) -> tuple[str, ...]:
    """``"A, B, A"`` -> ``("A", "B")``: order kept, repeats (translator = author) dropped."""
    names: list[str] = []
    for part in (raw or "").split(","):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return tuple(names)


def has_dataset(directory: str | os.PathLike | None) -> bool:
    return bool(directory) and (Path(directory) / BOOKS_FILE).is_file()


def read_goodbooks(directory: str | os.PathLike) -> Source:
    """All books of a goodbooks folder; book_genres.csv and book_descriptions.csv are optional."""
    folder = Path(directory)
    genres = _read_genres(folder / GENRES_FILE)
    descriptions = _read_descriptions(folder / DESCRIPTIONS_FILE)
    skipped: Counter = Counter()
    books: list[SourceBook] = []
    seen: set[int] = set()
    with open(folder / BOOKS_FILE, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            source_id = _parse_int(row.get("book_id"))
            title = (row.get("title") or row.get("original_title") or "").strip()
            if source_id is None or source_id < 1:
                skipped["bad book_id"] += 1
            elif source_id in seen:
                skipped["duplicate book_id"] += 1
            elif not title:
                skipped["no title"] += 1
            else:
                seen.add(source_id)
                books.append(
                    _book_from_row(row, source_id, title, genres, descriptions.get(source_id))
                )
    return Source(f"goodbooks dataset at {folder}", len(books), iter(books), skipped)


def download_books_csv(url: str, destination: Path, timeout: float) -> Path:
    """Fetch books.csv into ``destination`` (a folder); raises OSError when it cannot."""
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / BOOKS_FILE
    partial = destination / (BOOKS_FILE + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
        while chunk := response.read(1 << 16):
            out.write(chunk)
    os.replace(partial, target)
    return target


def _book_from_row(
    row: dict, source_id: int, title: str, genres: dict, description: str | None
) -> SourceBook:
    defects: set[str] = set()

    isbn13 = isbn13_from_isbn10(row.get("isbn"))
    if isbn13:
        defects.add("isbn_repaired")
    elif (row.get("isbn") or "").strip():
        defects.add("isbn_invalid")
    else:
        defects.add("isbn_missing")

    cover_url = (row.get("image_url") or "").strip() or None
    if cover_url and "nophoto" in cover_url:
        cover_url = None
        defects.add("cover_placeholder")

    language = normalise_language(row.get("language_code"))
    if language is None:
        defects.add("language_missing")

    year = _parse_int(row.get("original_publication_year"))
    if year is None:
        defects.add("year_missing")
    elif year < 0:
        defects.add("year_negative")

    return SourceBook(
        source_id=source_id,
        title=title,
        authors=split_authors(row.get("authors")),
        genres=genres.get(source_id, ()),
        isbn13=isbn13,
        language=language,
        publication_year=year,
        cover_url=cover_url,
        average_rating=_parse_rating(row.get("average_rating")),
        ratings_count=max(_parse_int(row.get("ratings_count")) or 0, 0),
        rating_histogram=_parse_histogram(row),
        description=description,
        defects=frozenset(defects),
    )


def _parse_histogram(row: dict) -> dict[str, int] | None:
    counts = {star: _parse_int(row.get(f"ratings_{star}")) for star in "12345"}
    if any(count is None or count < 0 for count in counts.values()):
        return None
    return counts


def _read_genres(path: Path) -> dict[int, tuple[str, ...]]:
    if not path.is_file():
        return {}
    result: dict[int, tuple[str, ...]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            source_id = _parse_int(row.get("book_id"))
            if source_id is None:
                continue
            slugs: list[str] = []
            for raw in (row.get("genres") or "").split("|"):
                slug = genre_slug(raw)
                if slug and slug not in slugs:
                    slugs.append(slug)
            result[source_id] = tuple(slugs)
    return result


def _read_descriptions(path: Path) -> dict[int, str]:
    if not path.is_file():
        return {}
    result: dict[int, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            source_id = _parse_int(row.get("book_id"))
            text = (row.get("description") or "").strip()
            if source_id is not None and text:
                result[source_id] = text
    return result


# ISO 639-2 (bibliographic) codes seen in the dataset -> ISO 639-1.
ISO_639_1 = {
    "ara": "ar",
    "dan": "da",
    "dut": "nl",
    "eng": "en",
    "fre": "fr",
    "ger": "de",
    "ind": "id",
    "ita": "it",
    "jpn": "ja",
    "nor": "no",
    "per": "fa",
    "pol": "pl",
    "por": "pt",
    "rum": "ro",
    "rus": "ru",
    "spa": "es",
    "swe": "sv",
    "tur": "tr",
    "vie": "vi",
    "chi": "zh",
    "kor": "ko",
}


def normalise_language(code: str | None) -> str | None:
    """``en-US``, ``eng`` and ``en`` all become ``en``; empty or overlong codes become None."""
    code = (code or "").strip().lower()
    if not code or len(code) > LANGUAGE_MAX_LENGTH:
        return None
    primary = code.split("-", 1)[0]
    return ISO_639_1.get(primary, primary)


def _parse_int(raw: str | None) -> int | None:
    """``"2008.0"`` -> 2008, ``"-720.0"`` -> -720, ``""`` or junk -> None."""
    try:
        value = float((raw or "").strip())
    except ValueError:
        return None
    return int(value) if value == value and abs(value) < 2**31 else None


def _parse_rating(raw: str | None) -> Decimal:
    try:
        value = Decimal((raw or "").strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal("0")
    return min(max(value, Decimal("0")), Decimal("5")) if value.is_finite() else Decimal("0")
