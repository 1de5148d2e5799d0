"""``flask`` commands: database migrations, the catalog and staff accounts."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import text

db_cli = AppGroup("db", help="Database schema.")
catalog_cli = AppGroup("catalog", help="The book catalog.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations up to REVISION (default: head)."""
    from models.schema import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create-staff")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make an admin rather than staff.")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
def create_staff(email: str, admin: bool, name: str, password: str) -> None:
    """Create a staff (or --admin) account, or promote an existing one and set its password."""
    from models import Role
    from services.accounts.users import create_user
    from services.errors import DomainError

    role = Role.ADMIN if admin else Role.STAFF
    try:
        user = create_user(email, password, name, role, current_app.config["PASSWORD_MIN_LENGTH"])
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is now {user.role} (id {user.id})")


@catalog_cli.command("import")
@click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(file_okay=False),
    help="goodbooks folder (default: CATALOG_DATASET_DIR).",
)
@click.option(
    "--download-url",
    help="Where to fetch books.csv when there is no dataset (default: CATALOG_DOWNLOAD_URL;"
    ' "" disables the download).',
)
@click.option(
    "--generate",
    type=click.IntRange(min=1),
    help="Add N synthetic books (source ids 1,000,001..) instead of reading any dataset.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalog has any book.")
@click.option(
    "--generate-ratings",
    type=click.IntRange(min=1),
    help="With --generate: also write N generated ratings of those books to "
    "VAR_DIR/generated/ratings.csv (for `flask recommendations build --dataset`).",
)
@click.option("--batch-size", type=click.IntRange(100, 50_000), default=2_000, show_default=True)
def catalog_import(
    dataset_dir: str | None,
    download_url: str | None,
    generate: int | None,
    if_empty: bool,
    batch_size: int,
    generate_ratings: int | None = None,
) -> None:
    """Import the catalog; a second run changes nothing.

    \b
    Source, first that works:
      1. the goodbooks folder (--dataset or CATALOG_DATASET_DIR) holding books.csv
         (book_genres.csv and book_descriptions.csv are used when present);
      2. a books.csv downloaded earlier into VAR_DIR/downloads/goodbooks;
      3. downloading books.csv from --download-url / CATALOG_DOWNLOAD_URL (short timeout);
      4. CATALOG_FALLBACK_BOOKS generated books (Faker, seeded: the same on every run).
    Prices, page counts and stock are derived from each book's source id; books already
    stored (by source id) are left alone. Negative publication years (ancient works) are
    kept as negative years; placeholder covers, missing languages and ISBNs become NULL.
    """
    from models import db
    from services.catalog.importer import ImportOptions, NoDefaultWarehouse, import_catalog

    config = current_app.config
    options = ImportOptions(
        dataset_dir=dataset_dir or config["CATALOG_DATASET_DIR"],
        download_url=config["CATALOG_DOWNLOAD_URL"] if download_url is None else download_url,
        download_dir=Path(config["VAR_DIR"]) / "downloads" / "goodbooks",
        download_timeout=config["CATALOG_DOWNLOAD_TIMEOUT"],
        fallback_books=config["CATALOG_FALLBACK_BOOKS"],
        generate=generate,
        if_empty=if_empty,
        currency=config["DEFAULT_CURRENCY"],
        batch_size=batch_size,
    )
    try:
        summary = import_catalog(db.session, options, progress=_ProgressLines())
    except NoDefaultWarehouse as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        db.session.remove()
    for line in summary.lines():
        click.echo(line)
    if summary.changed:
        _rebuild_search_index()
    if generate_ratings:
        _write_generated_ratings(generate, generate_ratings)


def _write_generated_ratings(books: int | None, ratings: int) -> None:
    from services.catalog.synthetic_ratings import write_ratings

    if not books:
        raise click.UsageError("--generate-ratings needs --generate N")
    path = Path(current_app.config["VAR_DIR"]) / "generated" / "ratings.csv"
    started = time.perf_counter()
    written = write_ratings(path, books, ratings)
    elapsed = time.perf_counter() - started
    click.echo(f"{written:,} generated ratings written to {path} ({elapsed:.1f} s)")


@click.group("search")
def search_cli() -> None:
    """The search index."""


@search_cli.command("reindex")
@click.option("--if-empty", is_flag=True, help="Only when no book is indexed yet.")
def search_reindex(if_empty: bool) -> None:
    """Rebuild every search document (and the typo vocabulary) from the catalog."""
    _rebuild_search_index(if_empty=if_empty)


def _rebuild_search_index(if_empty: bool = False) -> None:
    from models import db
    from services.catalog import cache as catalog_cache
    from services.ops.jobs import record_run
    from services.search import engine
    from services.search.documents import rebuild_all, vacuum

    started = time.perf_counter()
    try:
        config = current_app.config
        es = config["SEARCH_BACKEND"] == "elasticsearch"
        backend = engine.elasticsearch_backend(config["ELASTICSEARCH_URL"]) if es else None
        built = db.session.execute(text("SELECT EXISTS (SELECT 1 FROM search_documents)")).scalar()
        if if_empty:
            if not built:
                with record_run("search_rebuild") as run:
                    run.counts["documents"] = written = rebuild_all(db.session)
                    db.session.commit()
                click.echo(f"search documents built: {written:,} books")
            if backend is not None:
                _build_index_in_background(backend)
            elif built:
                click.echo("search index already built")
            return
        with record_run("search_rebuild") as run:
            written = rebuild_all(db.session)
            db.session.commit()
            run.counts["documents"] = written
        vacuum(db.session)
        click.echo(f"search documents rebuilt: {written:,} books")
        if backend is not None:
            with click.progressbar(length=written, label="indexing into Elasticsearch") as bar:
                summary = backend.rebuild(
                    db.session, progress=lambda done, _: bar.update(done - bar.pos)
                )
            click.echo(
                f"index {summary['index']}: {summary['documents']:,} documents, alias "
                f"{backend.alias!r} swapped from {', '.join(summary['replaced']) or 'nothing'}"
            )
    finally:
        db.session.remove()
    catalog_cache.invalidate()
    click.echo(f"search index rebuilt in {time.perf_counter() - started:.1f} s")


def _build_index_in_background(backend) -> None:
    """A missing or outdated Elasticsearch index is built by the worker (search queue) while
    PostgreSQL answers; /readyz and GET /admin/jobs/search_rebuild show its progress."""
    from services.search import rebuild
    from services.search.backend import SearchUnavailable
    from services.search.elastic_index import READY

    try:
        state = backend.index_state()
    except SearchUnavailable as exc:
        click.echo(f"Elasticsearch unreachable ({exc}): PostgreSQL answers searches")
        return
    if state == READY:
        click.echo("Elasticsearch index up to date")
        return
    try:
        run_id = rebuild.request("elasticsearch")
    except rebuild.RebuildRunning as exc:
        click.echo(f"Elasticsearch index {state}: {exc.message}")
        return
    current_app.extensions["celery"].send_task(
        rebuild.TASK, args=(str(run_id), False), queue="search"
    )
    click.echo(
        f"Elasticsearch index {state}: building it in the background (run {run_id});"
        " PostgreSQL answers until it is ready, /readyz shows the progress"
    )


class _ProgressLines:
    """Prints "books done/total" about every tenth of the way (readable in logs, unlike a bar)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.printed = 0

    def __call__(self, done: int, total: int) -> None:
        if done == self.printed or (done < total and done - self.printed < max(total // 10, 1)):
            return
        self.printed = done
        elapsed = time.perf_counter() - self.started
        click.echo(f"  {done:>9,} / {total:,} books  ({elapsed:.1f} s)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(users_cli)
    from app.cli_recommendations import recommendations_cli

    app.cli.add_command(recommendations_cli)
    from app.cli_pii import pii_cli

    app.cli.add_command(pii_cli)
