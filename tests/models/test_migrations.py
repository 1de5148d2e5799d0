"""The Alembic revisions and the SQLAlchemy models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree; add a revision: {diff}"


def test_migrations_seed_one_default_warehouse(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        defaults = conn.execute(text("SELECT code FROM warehouses WHERE is_default")).all()
    assert [row.code for row in defaults] == ["main"]
