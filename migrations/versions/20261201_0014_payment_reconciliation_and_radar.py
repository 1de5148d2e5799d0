"""payments: nightly reconciliation reports, Radar risk level

Revision ID: 0014
Revises: 0016 (was 0009; follows main's head)
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("risk_level", sa.String(length=16), nullable=True))
    op.create_table(
        "payment_reconciliation_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("intents_checked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("payments_checked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mismatches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("settled", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "findings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reconciliation_reports")),
    )
    op.create_index(
        op.f("ix_payment_reconciliation_reports_started_at"),
        "payment_reconciliation_reports",
        ["started_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_payment_reconciliation_reports_started_at"),
        table_name="payment_reconciliation_reports",
    )
    op.drop_table("payment_reconciliation_reports")
    op.drop_column("payments", "risk_level")
