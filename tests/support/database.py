"""Create a fresh, migrated database for the test suite or the benchmark."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.schema import upgrade


def recreate_database(url: str) -> None:
    """Drop the database named in ``url`` (closing its sessions), create it and migrate it."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": target.database},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    upgrade(url)
