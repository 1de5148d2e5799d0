"""Small goodbooks-shaped datasets for import tests, each row carrying one of the real
dataset's defects."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.catalog.sources import has_dataset

ROOT = Path(__file__).resolve().parents[2]
# The real dataset: the project's shared/ beside the checkout, or beside the worktrees' folder.
REAL_DATASET_CANDIDATES = [
    ROOT.parent / "shared" / "datasets" / "goodbooks",
    ROOT.parent.parent / "shared" / "datasets" / "goodbooks",
]

BOOK_COLUMNS = [
    "book_id", "goodreads_book_id", "best_book_id", "work_id", "books_count", "isbn", "isbn13",
    "authors", "original_publication_year", "original_title", "title", "language_code",
    "average_rating", "ratings_count", "work_ratings_count", "work_text_reviews_count",
    "ratings_1", "ratings_2", "ratings_3", "ratings_4", "ratings_5", "image_url",
    "small_image_url",
]  # fmt: skip
COVER = "https://images.gr-assets.com/books/1447303603m/2767052.jpg"
PLACEHOLDER = (
    "https://s.gr-assets.com/assets/nophoto/book/111x148-bcc042a9c91a29c1d680899eff700a03.png"
)


def real_dataset_dir() -> Path:
    """The real goodbooks folder (books and ratings); the calling test is skipped without it."""
    for folder in REAL_DATASET_CANDIDATES:
        if has_dataset(str(folder)) and (folder / "ratings.csv").is_file():
            return folder
    pytest.skip("no goodbooks dataset beside the project")


# source_id -> the columns that matter; see DEFECTS below for what each row exercises.
BOOKS = {
    # isbn lost its leading zero; isbn13 is the broken float
    1: dict(isbn="439023483", isbn13="9.78043902348e+12", authors="Suzanne Collins",
            original_publication_year="2008.0", title="The Hunger Games",
            language_code="eng", average_rating="4.34", ratings_count="4780653",
            image_url=COVER),
    # no ISBN, empty year, no language, placeholder cover, two authors
    2: dict(isbn="", isbn13="", authors="J.K. Rowling, Mary GrandPré",
            original_publication_year="", title="Harry Potter and the Sorcerer's Stone",
            language_code="", average_rating="4.44", ratings_count="4602479",
            image_url=PLACEHOLDER),
    # ancient work (negative year); the translator repeats the author in the string
    3: dict(isbn="043965548X", isbn13="9.78043965548e+12", authors="Homer, Robert Fagles, Homer",
            original_publication_year="-720.0", title="The Odyssey", language_code="en-US",
            average_rating="3.73", ratings_count="670326", image_url=COVER),
    # malformed ISBN; an author already seen on another book
    4: dict(isbn="12-34", isbn13="", authors="Homer", original_publication_year="-750.0",
            title="The Iliad", language_code="eng", average_rating="3.83",
            ratings_count="241088", image_url=PLACEHOLDER),
    # the same ISBN as book 1: the second one cannot keep it
    5: dict(isbn="0439023483", isbn13="9.78043902348e+12", authors="Suzanne Collins",
            original_publication_year="2010.0", title="Mockingjay", language_code="eng",
            average_rating="4.03", ratings_count="1719760", image_url=COVER),
}  # fmt: skip
GENRES = {1: "young_adult|fiction|dystopian", 2: "fantasy|young_adult", 3: "classics|poetry"}
DESCRIPTIONS = {1: "Katniss volunteers.", 2: "   "}

# What the import must report for BOOKS.
DEFECTS = {
    "isbn_repaired": 2,  # books 1 and 3 (book 5's ISBN is taken by book 1)
    "isbn_duplicate": 1,
    "isbn_missing": 1,
    "isbn_invalid": 1,
    "cover_placeholder": 2,
    "language_missing": 1,
    "year_missing": 1,
    "year_negative": 2,
}
AUTHORS = 5  # Suzanne Collins, J.K. Rowling, Mary GrandPré, Homer, Robert Fagles
GENRE_COUNT = 6


def write_dataset(folder: Path, books: dict | None = None) -> Path:
    """Write books.csv, book_genres.csv and book_descriptions.csv into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_books_csv(folder / "books.csv", books or BOOKS)
    with open(folder / "book_genres.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["book_id", "genres"])
        writer.writerows(GENRES.items())
    with open(folder / "book_descriptions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["book_id", "description"])
        writer.writerows(DESCRIPTIONS.items())
    return folder


def write_books_csv(path: Path, books: dict) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=BOOK_COLUMNS, restval="")
        writer.writeheader()
        for source_id, columns in books.items():
            writer.writerow({"book_id": str(source_id), **columns})
