"""search: a narrow suggestion table (one row per indexed book and per author of one)

Revision ID: 0019
Revises: 0017 (main's head when merged; was 0014)
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_suggestions",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("popularity", sa.BigInteger(), nullable=False),
        sa.Column("prefixes", postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_search_suggestions")),
    )
    # Filled from the documents already built (later kept by services.search.documents).
    op.execute(
        "INSERT INTO search_suggestions (kind, id, text, popularity, prefixes)"
        " SELECT 'book', book_id, title, ratings_count + sales_count, prefixes"
        " FROM search_documents"
    )
    op.execute(
        "INSERT INTO search_suggestions (kind, id, text, popularity, prefixes)"
        " SELECT 'author', a.id, a.name, sum(d.ratings_count + d.sales_count),"
        " to_tsvector('simple', search_fold(a.name))"
        " FROM search_documents d CROSS JOIN unnest(d.author_ids) AS x(author_id)"
        " JOIN authors a ON a.id = x.author_id GROUP BY a.id, a.name"
    )
    op.create_index(
        "ix_search_suggestions_prefixes",
        "search_suggestions",
        ["prefixes"],
        unique=False,
        postgresql_using="gin",
    )
    op.execute("ANALYZE search_suggestions")


def downgrade() -> None:
    op.drop_index("ix_search_suggestions_prefixes", table_name="search_suggestions")
    op.drop_table("search_suggestions")
