"""quiet hours (held SMS and push deliveries) and Web Push subscriptions

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('queued', 'sent', 'failed', 'skipped')"
NEW_STATUSES = "status IN ('queued', 'held', 'sent', 'failed', 'skipped')"


def upgrade() -> None:
    op.add_column(
        "notification_preferences",
        sa.Column("quiet_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "notification_deliveries",
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.drop_constraint(
        op.f("ck_notification_deliveries_status_known"), "notification_deliveries", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_notification_deliveries_status_known"), "notification_deliveries", NEW_STATUSES
    )
    op.create_index(
        "ix_notification_deliveries_held",
        "notification_deliveries",
        ["hold_until"],
        postgresql_where=sa.text("status = 'held'"),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_push_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(op.f("ix_push_subscriptions_user_id"), "push_subscriptions", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_push_subscriptions_user_id"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_notification_deliveries_held", table_name="notification_deliveries")
    op.execute("UPDATE notification_deliveries SET status = 'queued' WHERE status = 'held'")
    op.drop_constraint(
        op.f("ck_notification_deliveries_status_known"), "notification_deliveries", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_notification_deliveries_status_known"), "notification_deliveries", OLD_STATUSES
    )
    op.drop_column("notification_deliveries", "hold_until")
    op.drop_column("notification_preferences", "quiet_hours")
