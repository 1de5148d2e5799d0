"""The real goodbooks catalog (10,000 books) loaded and indexed for the search tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from config.settings import ROOT
from services.catalog.importer import ImportOptions, import_catalog
from services.search.documents import rebuild_all


def goodbooks_dir(configured: str) -> str:
    """The configured dataset folder, or the shared one beside a git worktree's parent."""
    for folder in (Path(configured), ROOT.parent.parent / "shared" / "datasets" / "goodbooks"):
        if (folder / "books.csv").is_file():
            return str(folder)
    pytest.skip(f"no goodbooks dataset at {configured}")


def load_real_catalog(engine, configured_dir: str) -> None:
    """Import the dataset (committed) and build every search document from it."""
    options = ImportOptions(dataset_dir=goodbooks_dir(configured_dir), download_url="")
    with Session(engine) as session:
        summary = import_catalog(session, options)
        assert summary.books_imported == 10_000, summary.lines()
        rebuild_all(session)
        session.commit()
