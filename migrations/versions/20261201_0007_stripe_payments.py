"""stripe payments: payment status enum, card/refund columns, processed events, refunds

Revision ID: 0007
Revises: 0008 (was 0004; follows main's head)
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TO_NEW = {"processing": "pending", "declined": "failed", "cancelled": "voided"}


def upgrade() -> None:
    op.drop_constraint(op.f("ck_payments_status_known"), "payments", type_="check")
    for old, new in OLD_TO_NEW.items():
        op.execute(f"UPDATE payments SET status = '{new}' WHERE status = '{old}'")
    op.create_check_constraint(
        op.f("ck_payments_status_known"),
        "payments",
        "status IN ('pending', 'requires_action', 'authorized', 'captured', "
        "'partially_refunded', 'refunded', 'voided', 'failed')",
    )
    op.add_column("payments", sa.Column("decline_code", sa.String(length=64), nullable=True))
    op.add_column("payments", sa.Column("error_message", sa.String(length=500), nullable=True))
    op.add_column(
        "payments", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "payments", sa.Column("refunded_cents", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("payments", sa.Column("card_brand", sa.String(length=32), nullable=True))
    op.add_column("payments", sa.Column("card_last4", sa.String(length=4), nullable=True))
    op.add_column(
        "payments",
        sa.Column("next_action", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_payments_refund_bounded"),
        "payments",
        "refunded_cents BETWEEN 0 AND amount_cents",
    )
    op.create_table(
        "processed_payment_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_processed_payment_events_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_payment_events")),
    )
    op.create_index(
        op.f("ix_processed_payment_events_order_id"), "processed_payment_events", ["order_id"]
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("restock", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_refunds_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(
        op.f("ix_processed_payment_events_order_id"), table_name="processed_payment_events"
    )
    op.drop_table("processed_payment_events")
    op.drop_constraint(op.f("ck_payments_refund_bounded"), "payments", type_="check")
    for column in (
        "next_action",
        "card_last4",
        "card_brand",
        "refunded_cents",
        "attempt",
        "error_message",
        "decline_code",
    ):
        op.drop_column("payments", column)
    op.drop_constraint(op.f("ck_payments_status_known"), "payments", type_="check")
    for old, new in OLD_TO_NEW.items():
        op.execute(f"UPDATE payments SET status = '{old}' WHERE status = '{new}'")
    op.execute("UPDATE payments SET status = 'refunded' WHERE status = 'partially_refunded'")
    op.execute("UPDATE payments SET status = 'declined' WHERE status = 'failed'")
    op.create_check_constraint(
        op.f("ck_payments_status_known"),
        "payments",
        "status IN ('processing', 'requires_action', 'authorized', 'captured', 'declined', "
        "'cancelled', 'refunded')",
    )
