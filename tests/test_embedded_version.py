"""An embedded data directory of another PostgreSQL major version is refused with a clear
message and left untouched (never silently re-created)."""

from __future__ import annotations

import pytest

from config.embedded import EmbeddedServices, IncompatibleDataDirectory


def test_a_postgresql_16_data_directory_is_refused_and_kept(tmp_path):
    # Given a var folder whose pgdata was made by pgserver's PostgreSQL 16
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    (pgdata / "base" / "precious").write_text("rows")

    # When the embedded services start, then they refuse, saying what to do
    with pytest.raises(IncompatibleDataDirectory) as refused:
        EmbeddedServices(tmp_path).start({})
    message = str(refused.value)
    assert "PostgreSQL 16" in message and "18" in message
    assert f"mv {pgdata} {pgdata}-16" in message and "pg_dumpall" in message
    # and nothing was changed.
    assert (pgdata / "PG_VERSION").read_text() == "16\n"
    assert (pgdata / "base" / "precious").read_text() == "rows"
