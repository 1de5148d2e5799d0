"""Query plans of the catalog's uncached reads: ``python -m tests.bench.explain``.

Runs every list, filter and detail read of the catalog API (each sort of the book list, with
and without each filter, a second page, a book, the authors list and an author search, an
author, genres, languages) in process against the benchmark's database (BENCH_DATABASE_URL,
the 100,000-book catalog ``make bench`` builds), as the API computes a page when the cache
misses: the service call and the schema's dump, no HTTP. Each read is timed BENCH_EXPLAIN_RUNS
times (p50, p95, min-max), then each SQL statement it sent is run again under
``EXPLAIN (ANALYZE, BUFFERS)``. Writes var/bench/explain.md (and explain.json); ``make bench``
runs it once the 100k catalog exists.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event, func, select, text

from tests.bench.__main__ import ENV, OUT_DIR, SORTS, log

RUNS = int(os.environ.get("BENCH_EXPLAIN_RUNS", "21"))
# A plan node reading this many rows or more of a catalog table in full is flagged.
WHOLE_TABLE_ROWS = 5_000


def scenarios() -> list[tuple[str, Callable[[], object]]]:
    """(name, call) for every catalog read the API offers; call returns the dumped body."""
    from app.api.catalog_schemas import (
        AuthorDetailSchema,
        AuthorPageSchema,
        BookDetailSchema,
        BookPageSchema,
        GenreListSchema,
        LanguageListSchema,
    )
    from models import Author, Book, BookAuthor, BookGenre, BookStatus, Genre, db
    from services.catalog import reads as catalog
    from services.search.authors import search_authors

    session = db.session
    big_genre = session.scalar(
        select(Genre.slug)
        .join(BookGenre, BookGenre.genre_id == Genre.id)
        .group_by(Genre.slug)
        .order_by(func.count().desc())
        .limit(1)
    )
    small_genre = session.scalar(
        select(Genre.slug)
        .join(BookGenre, BookGenre.genre_id == Genre.id)
        .group_by(Genre.slug)
        .order_by(func.count())
        .limit(1)
    )
    prolific = session.scalar(
        select(BookAuthor.author_id).group_by(BookAuthor.author_id).order_by(func.count().desc())
    )
    rare_language = session.scalar(
        select(Book.language)
        .where(Book.language.is_not(None), Book.status == BookStatus.ACTIVE)
        .group_by(Book.language)
        .order_by(func.count(), Book.language)
        .limit(1)
    )
    book_id = session.scalar(select(Book.id).order_by(Book.source_id.desc()).limit(1))
    author_id = session.scalar(select(Author.id).order_by(Author.name.desc()).limit(1))
    session.remove()

    def books(sort="bestselling", cursor=None, **filters):
        page = catalog.list_books(catalog.BookFilters(**filters), sort, 20, cursor)
        return BookPageSchema().dump(page)

    def second_page(sort, **filters):
        first = catalog.list_books(catalog.BookFilters(**filters), sort, 20, None)
        return lambda: books(sort, first.next_cursor, **filters)

    runs: list[tuple[str, Callable[[], object]]] = []
    runs += [(f"GET /books?sort={sort}", lambda s=sort: books(s)) for sort in SORTS]
    runs += [
        (f"GET /books?genre={big_genre}&sort={sort}", lambda s=sort: books(s, genre=big_genre))
        for sort in SORTS
    ]
    runs += [
        (f"GET /books?genre={small_genre}&sort=bestselling", lambda: books(genre=small_genre)),
        (f"GET /books?author={prolific}", lambda: books(author=prolific)),
        ("GET /books?language=en", lambda: books(language="en")),
        (f"GET /books?language={rare_language}", lambda: books(language=rare_language)),
        ("GET /books?language=en&sort=title", lambda: books("title", language="en")),
        ("GET /books?in_stock=true", lambda: books(in_stock=True)),
        ("GET /books?in_stock=false", lambda: books(in_stock=False)),
        ("GET /books?price_min=1000&price_max=1500", lambda: books(price_min=1000, price_max=1500)),
        ("GET /books?price_min=1000&sort=price", lambda: books("price", price_min=1000)),
        ("GET /books?price_max=500&sort=-price", lambda: books("-price", price_max=500)),
        (
            f"GET /books?genre={big_genre}&in_stock=true&sort=rating",
            lambda: books("rating", genre=big_genre, in_stock=True),
        ),
    ]
    runs += [(f"GET /books?sort={s}&cursor=...", second_page(s)) for s in ("bestselling", "title")]
    runs += [
        (
            f"GET /books?genre={big_genre}&sort=newest&cursor=...",
            second_page("newest", genre=big_genre),
        ),
        (f"GET /books/{book_id}", lambda: BookDetailSchema().dump(catalog.get_book(book_id))),
        (
            "GET /authors",
            lambda: AuthorPageSchema().dump(catalog.search_authors(None, 20, None)),
        ),
        (
            "GET /authors?cursor=...",
            lambda: AuthorPageSchema().dump(
                catalog.search_authors(None, 20, catalog.search_authors(None, 20, None).next_cursor)
            ),
        ),
        ("GET /authors?q=king", lambda: AuthorPageSchema().dump(search_authors("king", 20, None))),
        ("GET /authors?q=tolk", lambda: AuthorPageSchema().dump(search_authors("tolk", 20, None))),
        (
            f"GET /authors/{prolific}",
            lambda: AuthorDetailSchema().dump(catalog.get_author(prolific)),
        ),
        (
            f"GET /authors/{author_id}",
            lambda: AuthorDetailSchema().dump(catalog.get_author(author_id)),
        ),
        ("GET /genres", lambda: GenreListSchema().dump({"items": catalog.list_genres()})),
        ("GET /languages", lambda: LanguageListSchema().dump({"items": catalog.list_languages()})),
    ]
    return runs


@contextmanager
def captured(engine, statements: list):
    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def plan_summary(plan: dict) -> tuple[str, list[str]]:
    """A one-line outline of the plan tree and the whole-table reads or sorts it holds."""
    flags: list[str] = []

    def outline(node: dict) -> str:
        kind = node["Node Type"]
        if node.get("Index Name"):
            kind += f" {node['Index Name']}"
        elif node.get("Relation Name"):
            kind += f" {node['Relation Name']}"
        rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        if node["Node Type"] == "Seq Scan" and rows >= WHOLE_TABLE_ROWS:
            flags.append(f"Seq Scan on {node['Relation Name']} ({rows:,} rows)")
        if node["Node Type"] in ("Sort", "Incremental Sort") and rows >= WHOLE_TABLE_ROWS:
            flags.append(f"{node['Node Type']} of {rows:,} rows")
        children = node.get("Plans", [])
        return kind + (f" ({', '.join(outline(c) for c in children)})" if children else "")

    return outline(plan), flags


def explain(connection, statement: str, parameters) -> dict:
    row = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
    ).scalar_one()
    result = row[0] if isinstance(row, list) else json.loads(row)[0]
    plan = result["Plan"]
    outline, flags = plan_summary(plan)
    return {
        "sql": statement,
        "outline": outline,
        "flags": flags,
        "execution_ms": round(result["Execution Time"], 2),
        "shared_hit": plan.get("Shared Hit Blocks", 0),
        "shared_read": plan.get("Shared Read Blocks", 0),
    }


def measure(engine, name: str, call: Callable[[], object]) -> dict:
    from models import db

    call()  # warm the caches
    db.session.remove()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    statements: list = []
    with captured(engine, statements):
        call()
    db.session.remove()
    with engine.connect() as connection:
        plans = [explain(connection, sql, params) for sql, params in statements]
        connection.rollback()
    timings.sort()
    return {
        "name": name,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[max(0, round(0.95 * len(timings)) - 1)], 2),
        "min_ms": round(timings[0], 2),
        "max_ms": round(timings[-1], 2),
        "statements": len(statements),
        "plans": plans,
    }


def write(results: list[dict], meta: dict) -> None:
    lines = [
        "# Query plans of the catalog's uncached reads",
        "",
        f"Database `{meta['database']}`: {meta['books']:,} books, {meta['authors']:,} authors, "
        f"{meta['book_genres']:,} genre links; {meta['started_at']}, load average "
        f"{meta['load_average']}. Each read: the service call and its schema dump in process "
        f"(what the API does on a cache miss, without HTTP), {RUNS} runs after one warm-up; "
        "then each statement it sent under `EXPLAIN (ANALYZE, BUFFERS)`. "
        "Re-run: `python -m tests.bench.explain`.",
        "",
        "| read | p50 ms | p95 ms | min-max ms | statements | SQL ms (sum) | whole-table reads |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        flags = "; ".join(f for p in r["plans"] for f in p["flags"]) or "none"
        sql_ms = sum(p["execution_ms"] for p in r["plans"])
        lines.append(
            f"| `{r['name']}` | {r['p50_ms']} | {r['p95_ms']} | {r['min_ms']}-{r['max_ms']} "
            f"| {r['statements']} | {sql_ms:.2f} | {flags} |"
        )
    lines += ["", "## Plans", ""]
    for r in results:
        lines += [f"### `{r['name']}`", ""]
        for i, p in enumerate(r["plans"], 1):
            lines += [
                f"{i}. {p['execution_ms']} ms, buffers hit {p['shared_hit']} read "
                f"{p['shared_read']}: {p['outline']}",
                "",
                "   ```sql",
                "   " + " ".join(p["sql"].split()),
                "   ```",
                "",
            ]
    (OUT_DIR / "explain.md").write_text("\n".join(lines))
    (OUT_DIR / "explain.json").write_text(json.dumps({**meta, "reads": results}, indent=1))


def main() -> None:
    os.environ.update(ENV)
    from app import create_app
    from models import db

    app = create_app()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        engine = db.session.get_bind().engine
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM books), (SELECT count(*) FROM authors), "
                    "(SELECT count(*) FROM book_genres)"
                )
            ).one()
        meta = {
            "database": engine.url.database,
            "books": counts[0],
            "authors": counts[1],
            "book_genres": counts[2],
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        }
        results = []
        for name, call in scenarios():
            results.append(measure(engine, name, call))
            log(f"explain: {name}: p50 {results[-1]['p50_ms']} ms")
    write(results, meta)
    log(f"plans written to {OUT_DIR / 'explain.md'}")


if __name__ == "__main__":
    main()
