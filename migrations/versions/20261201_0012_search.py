"""search: pg_trgm and unaccent, a folding function, search documents and their vocabulary

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# unaccent() is only STABLE (its dictionary could change); indexes and generated text need an
# IMMUTABLE function, so this wrapper names the dictionary explicitly.
SEARCH_FOLD = """
CREATE OR REPLACE FUNCTION search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
    op.execute(SEARCH_FOLD)
    op.create_table(
        "search_documents",
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("author_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("genres", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("publication_year", sa.Integer(), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("average_rating", sa.Numeric(precision=3, scale=2), nullable=False),
        sa.Column("ratings_count", sa.Integer(), nullable=False),
        sa.Column("sales_count", sa.Integer(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.Column("prefixes", postgresql.TSVECTOR(), nullable=False),
        sa.Column(
            "indexed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_search_documents_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("book_id", name=op.f("pk_search_documents")),
    )
    op.create_index(
        "ix_search_documents_document",
        "search_documents",
        ["document"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_search_documents_prefixes",
        "search_documents",
        ["prefixes"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_search_documents_genres",
        "search_documents",
        ["genres"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "search_words",
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("books", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    op.create_index(
        "ix_search_words_trigrams",
        "search_words",
        ["word"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_search_words_trigrams", table_name="search_words")
    op.drop_table("search_words")
    op.drop_index("ix_search_documents_genres", table_name="search_documents")
    op.drop_index("ix_search_documents_prefixes", table_name="search_documents")
    op.drop_index("ix_search_documents_document", table_name="search_documents")
    op.drop_table("search_documents")
    op.execute("DROP FUNCTION IF EXISTS search_fold(text)")
    # The extensions stay: other objects may have come to use them.
