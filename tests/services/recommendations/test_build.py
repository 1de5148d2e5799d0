"""The build on a small hand-made dataset: shop signals count, a new generation replaces the
old one at once, and a second build at the same time is turned away."""

from __future__ import annotations

from sqlalchemy import func, select, text

from models import BookNeighbour, RecommendationBuild, db
from services.catalog.synthetic_ratings import write_ratings
from services.recommendations.build import BUILD_LOCK, build
from tests.factories import make_book, make_user
from tests.support.recommendations import delivered_order


def write_csv(folder, rows) -> None:
    folder.mkdir(exist_ok=True)
    lines = ["book_id,user_id,rating"] + [",".join(map(str, row)) for row in rows]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")


def neighbours_of(book) -> list:
    return list(
        db.session.scalars(
            select(BookNeighbour.neighbour_id)
            .join(RecommendationBuild, RecommendationBuild.generation == BookNeighbour.generation)
            .where(RecommendationBuild.current.is_(True), BookNeighbour.book_id == book.id)
            .order_by(BookNeighbour.rank)
        )
    )


def test_a_rebuild_swaps_generations_and_learns_from_orders(committed, tmp_path, engine):
    a, b, c = (make_book(f"Book {n}", source_id=900_000 + n) for n in range(3))
    # Readers 1 and 2 liked A and B; C is rated by one reader only (below min co-raters).
    write_csv(tmp_path / "data", [(900_000, 1, 5), (900_001, 1, 4), (900_000, 2, 5),
                                  (900_001, 2, 5), (900_002, 3, 5)])  # fmt: skip

    first = build(tmp_path / "data")
    assert (first.generation, first.pairs, first.readers) == (1, 2, 3)
    assert neighbours_of(a) == [b.id] and neighbours_of(c) == []

    # A build that finds no signals at all (no ratings file, no orders) keeps generation 1.
    empty = build(tmp_path / "nowhere")
    assert empty.skipped and empty.generation is None
    assert neighbours_of(a) == [b.id]

    # Two shoppers bought A and C together: now they are neighbours too.
    for _ in range(2):
        delivered_order(make_user(), a, c)
    second = build(tmp_path / "data")

    assert second.generation == 2 and second.readers == 5
    assert set(neighbours_of(c)) == {a.id}
    assert set(neighbours_of(a)) == {b.id, c.id}
    builds = db.session.execute(select(RecommendationBuild.generation, RecommendationBuild.current))
    assert list(builds) == [(2, True)]
    generations = db.session.scalars(select(func.distinct(BookNeighbour.generation)))
    assert list(generations) == [2]


def test_a_build_while_another_runs_is_turned_away(committed, tmp_path, engine):
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": BUILD_LOCK})
        summary = build(tmp_path)
        other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": BUILD_LOCK})

    assert summary.skipped == "another build is running" and summary.generation is None
    assert db.session.scalar(select(func.count()).select_from(RecommendationBuild)) == 0


def test_generated_ratings_are_the_same_every_run(tmp_path):
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"

    assert write_ratings(first, books=1_000, ratings=5_000) == 5_000
    write_ratings(second, books=1_000, ratings=5_000)

    lines = first.read_text().splitlines()
    assert lines[0] == "book_id,user_id,rating" and len(lines) == 5_001
    assert first.read_bytes() == second.read_bytes()
    books = {int(line.split(",")[0]) for line in lines[1:]}
    stars = {int(line.split(",")[2]) for line in lines[1:]}
    assert min(books) > 1_000_000 and max(books) <= 1_001_000
    assert stars == {1, 2, 3, 4, 5}
