"""`flask catalog import`: options, progress and the printed summary."""

from __future__ import annotations

import socket

from sqlalchemy import func, select

from models import Book
from services.catalog.synthetic import GENERATED_SOURCE_ID_START
from tests.factories import make_book
from tests.support import goodbooks


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["catalog", "import", *args])


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/books.csv"


def book_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Book))


def test_import_prints_progress_and_the_defect_summary(app, session, tmp_path):
    # given a crafted dataset folder
    dataset = goodbooks.write_dataset(tmp_path / "goodbooks")

    # when the command imports it
    result = run(app, "--dataset", str(dataset))

    # then it prints progress and every count of the summary
    assert result.exit_code == 0, result.output
    assert "5 / 5 books" in result.output
    assert f"goodbooks dataset at {dataset}" in result.output
    lines = [line.split() for line in result.output.splitlines()]
    for label, count in [
        ("books imported", 5),
        ("ISBN-13 rebuilt from ISBN-10", 2),
        ("ISBN missing (isbn13 NULL)", 1),
        ("placeholder covers skipped", 2),
        ("languages missing", 1),
        ("years negative (BCE, kept)", 2),
        ("descriptions attached", 1),
    ]:
        assert [*label.split(), str(count)] in lines, label
    assert book_count(session) == 5


def test_second_run_reports_that_nothing_changed(app, session, tmp_path):
    dataset = goodbooks.write_dataset(tmp_path / "goodbooks")
    run(app, "--dataset", str(dataset))

    result = run(app, "--dataset", str(dataset))

    assert result.exit_code == 0, result.output
    assert "nothing changed: all 5 books were already present" in result.output
    assert book_count(session) == 5


def test_generate_adds_synthetic_books(app, session):
    # when 12 synthetic books are generated
    result = run(app, "--generate", "12", "--batch-size", "100")

    # then they are imported with their own source ids
    assert result.exit_code == 0, result.output
    assert "12 generated books" in result.output
    ids = session.scalars(select(Book.source_id)).all()
    assert sorted(ids) == list(range(GENERATED_SOURCE_ID_START + 1, GENERATED_SOURCE_ID_START + 13))


def test_missing_dataset_with_a_failing_download_generates_the_fallback_catalog(
    app, session, tmp_path
):
    # given no dataset and a download URL nobody listens on
    result = run(app, "--dataset", str(tmp_path / "absent"), "--download-url", closed_port_url())

    # then the fallback catalog of CATALOG_FALLBACK_BOOKS generated books is imported
    assert result.exit_code == 0, result.output
    assert "no download (http://127.0.0.1:" in result.output
    assert book_count(session) == app.config["CATALOG_FALLBACK_BOOKS"]


def test_if_empty_does_nothing_when_there_are_books(app, session, tmp_path):
    make_book(title="Already here")
    dataset = goodbooks.write_dataset(tmp_path / "goodbooks")

    result = run(app, "--if-empty", "--dataset", str(dataset))

    assert result.exit_code == 0, result.output
    assert "catalog import skipped" in result.output
    assert book_count(session) == 1


def test_generate_rejects_a_count_below_one(app, session):
    result = run(app, "--generate", "0")

    assert result.exit_code == 2
    assert "--generate" in result.output
