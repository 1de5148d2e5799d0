"""Recommendations on the real goodbooks ratings: the build (CLI) fills the neighbour table,
the endpoints read it, and the offline evaluation beats popularity on its fixed split."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from models import Book, BookNeighbour, BookStatus, RecommendationBuild, db
from services.catalog import cache as catalog_cache
from services.catalog.importer import ImportOptions, import_catalog
from tests.conftest import truncate_all
from tests.factories import auth_headers, make_user
from tests.support.recommendations import (
    CATCHING_FIRE,
    FELLOWSHIP,
    HOBBIT,
    HUNGER_GAMES,
    delivered_order,
    goodbooks_dir,
    real_book,
)

# The evaluation's numbers on its deterministic split (quoted in the README).
EXPECTED_EVALUATION = {
    "model": {"recall_at_10": 0.1198, "hit_rate_at_10": 0.7733},
    "popularity": {"recall_at_10": 0.0071, "hit_rate_at_10": 0.1259},
    "users": 1191,
}


@pytest.fixture(scope="module")
def real_catalog(app, engine):
    """The real catalog imported and its recommendations built once (committed) for the
    module; every table is emptied afterwards."""
    folder = goodbooks_dir()
    db.session.remove()
    import_catalog(db.session, ImportOptions(dataset_dir=str(folder), batch_size=5000))
    db.session.remove()
    result = app.test_cli_runner().invoke(
        args=["recommendations", "build", "--dataset", str(folder)]
    )
    db.session.remove()
    yield result
    truncate_all(engine)


def recommendations(client, book, **query):
    return client.get(f"/api/v1/books/{book.id}/recommendations", query_string=query).get_json()


def titles(body) -> list[str]:
    return [item["title"] for item in body["items"]]


def test_the_build_command_reports_what_it_built(real_catalog, session):
    assert real_catalog.exit_code == 0, real_catalog.output
    summary = real_catalog.output.strip().splitlines()[-1]
    assert summary.startswith("generation 1: ")
    assert "1,192 readers" in summary and "peak memory" in summary
    current = session.scalars(select(RecommendationBuild)).all()
    assert [(build.generation, build.current) for build in current] == [(1, True)]
    rows = session.scalar(select(func.count()).select_from(BookNeighbour))
    assert rows == current[0].pairs > 300_000
    most = session.scalar(
        select(func.count()).select_from(BookNeighbour).group_by(BookNeighbour.book_id)
        .order_by(func.count().desc()).limit(1)
    )  # fmt: skip
    assert most == 50


def test_the_hobbits_readers_also_liked_the_fellowship(real_catalog, client):
    hobbit = real_book(HOBBIT)

    body = recommendations(client, hobbit, limit=10)

    assert body["strategy"] == "item_item"
    assert real_book(FELLOWSHIP).title in titles(body)
    assert len(body["items"]) == 10


def test_a_book_never_recommends_itself(real_catalog, session):
    itself = session.scalar(
        select(func.count())
        .select_from(BookNeighbour)
        .where(BookNeighbour.book_id == BookNeighbour.neighbour_id)
    )
    assert itself == 0


def test_archived_books_never_appear_and_in_stock_books_come_first(real_catalog, client):
    hobbit, fellowship = real_book(HOBBIT), real_book(FELLOWSHIP)
    shown = recommendations(client, hobbit, limit=20)
    db.session.execute(
        update(Book).where(Book.id == fellowship.id).values(status=BookStatus.ARCHIVED)
    )
    db.session.commit()
    catalog_cache.invalidate()

    after = recommendations(client, hobbit, limit=20)

    assert fellowship.title in titles(shown)
    assert fellowship.title not in titles(after) and hobbit.title not in titles(after)
    stock = [item["availability"]["in_stock"] for item in after["items"]]
    assert stock == sorted(stock, reverse=True)


def test_personal_picks_exclude_what_the_shopper_bought(real_catalog, client, app):
    shopper = make_user()
    headers = auth_headers(app, shopper)
    delivered_order(shopper, real_book(HOBBIT), real_book(HUNGER_GAMES))

    picks = client.get("/api/v1/me/recommendations?limit=20", headers=headers).get_json()
    newcomer = client.get(
        "/api/v1/me/recommendations?limit=5", headers=auth_headers(app, make_user())
    ).get_json()
    anonymous = client.get("/api/v1/me/recommendations")

    assert picks["strategy"] == "item_item"
    assert {real_book(HOBBIT).title, real_book(HUNGER_GAMES).title}.isdisjoint(titles(picks))
    assert real_book(FELLOWSHIP).title in titles(picks)
    assert real_book(CATCHING_FIRE).title in titles(picks)
    assert newcomer["strategy"] == "bestsellers" and len(newcomer["items"]) == 5
    assert anonymous.status_code == 401


def test_a_guest_cart_gets_what_goes_with_it(real_catalog, client):
    hunger_games = real_book(HUNGER_GAMES)
    added = client.post("/api/v1/cart/items", json={"book_id": str(hunger_games.id), "quantity": 1})
    token = added.headers["X-Cart-Token"]

    body = client.get("/api/v1/cart/recommendations", headers={"X-Cart-Token": token}).get_json()
    empty = client.get("/api/v1/cart/recommendations").get_json()

    assert body["strategy"] == "item_item"
    assert real_book(CATCHING_FIRE).title in titles(body)
    assert hunger_games.title not in titles(body)
    assert empty["strategy"] == "bestsellers"


def test_an_unknown_book_has_no_recommendations(real_catalog, client):
    response = client.get("/api/v1/books/00000000-0000-0000-0000-000000000000/recommendations")
    assert response.status_code == 404


def test_the_evaluation_beats_popularity_on_the_fixed_split(app, tmp_path):
    folder = goodbooks_dir()
    report = tmp_path / "reports" / "evaluation.md"

    result = app.test_cli_runner().invoke(
        args=["recommendations", "evaluate", "--json", "--dataset", str(folder),
              "--report", str(report)]
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output.strip().splitlines()[-1])
    assert numbers == EXPECTED_EVALUATION
    for metric in ("recall_at_10", "hit_rate_at_10"):
        assert numbers["model"][metric] > 2 * numbers["popularity"][metric]
    written = report.read_text()
    assert "| item-item | 0.1198 | 0.7733 |" in written
    assert "| popularity | 0.0071 | 0.1259 |" in written
    assert "The model beats popularity." in written
