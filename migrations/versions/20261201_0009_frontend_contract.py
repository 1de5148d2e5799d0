"""frontend contract: title sort key, order numbers, guest orders

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.catalog import TITLE_SORT_SQL

revision: str = "0009"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Title sort: a stored key (leading punctuation and article dropped) in code-point order.
    op.add_column(
        "books",
        sa.Column(
            "title_sort",
            sa.Text(collation="C"),
            sa.Computed(TITLE_SORT_SQL, persisted=True),
            nullable=False,
        ),
    )
    op.drop_index("ix_books_title", table_name="books")
    op.create_index("ix_books_title_sort", "books", ["title_sort", "id"])

    # Order numbers: existing orders are numbered in creation order.
    op.execute(sa.schema.CreateSequence(sa.Sequence("order_number_seq")))
    op.add_column("orders", sa.Column("number", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE orders SET number = numbered.n FROM ("
        " SELECT id, nextval('order_number_seq') AS n FROM"
        " (SELECT id FROM orders ORDER BY created_at, id) AS ordered) AS numbered"
        " WHERE orders.id = numbered.id"
    )
    op.alter_column(
        "orders",
        "number",
        nullable=False,
        server_default=sa.text("nextval('order_number_seq')"),
    )
    op.create_unique_constraint("uq_orders_number", "orders", ["number"])

    # Guest orders.
    op.alter_column("orders", "user_id", nullable=True)
    op.add_column("orders", sa.Column("email", sa.String(length=320), nullable=True))
    op.add_column("orders", sa.Column("guest_token_hash", sa.String(length=64), nullable=True))
    op.create_check_constraint(
        "ck_orders_owner_known", "orders", "user_id IS NOT NULL OR email IS NOT NULL"
    )
    op.create_index(
        "uq_orders_guest_idempotency_key",
        "orders",
        ["guest_token_hash", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("user_id IS NULL"),
    )
    op.create_index(
        "ix_orders_guest_email",
        "orders",
        [sa.text("lower(email)")],
        postgresql_where=sa.text("user_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_guest_email", table_name="orders")
    op.drop_index("uq_orders_guest_idempotency_key", table_name="orders")
    op.drop_constraint("ck_orders_owner_known", "orders", type_="check")
    op.drop_column("orders", "guest_token_hash")
    op.drop_column("orders", "email")
    op.execute("DELETE FROM orders WHERE user_id IS NULL")
    op.alter_column("orders", "user_id", nullable=False)
    op.drop_constraint("uq_orders_number", "orders", type_="unique")
    op.drop_column("orders", "number")
    op.execute("DROP SEQUENCE order_number_seq")
    op.drop_index("ix_books_title_sort", table_name="books")
    op.drop_column("books", "title_sort")
    op.create_index("ix_books_title", "books", ["title", "id"])
