"""after the order: carrier tracking events, notification channels, domain events, sales

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('requested', 'shipped', 'delivered')"
NEW_STATUSES = (
    "status IN ('requested', 'label_created', 'shipped', 'in_transit', "
    "'out_for_delivery', 'delivered', 'exception')"
)


def upgrade() -> None:
    op.add_column("shipments", sa.Column("label_url", sa.String(length=512), nullable=True))
    op.add_column("shipments", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "shipments", sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "shipments", sa.Column("estimated_delivery", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint(op.f("ck_shipments_status_known"), "shipments", type_="check")
    op.create_check_constraint(op.f("ck_shipments_status_known"), "shipments", NEW_STATUSES)
    op.create_index(
        "ix_shipments_open_last_event",
        "shipments",
        ["last_event_at"],
        postgresql_where=sa.text("status <> 'delivered'"),
    )
    op.create_table(
        "shipment_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved_status", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_events_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint("carrier", "event_id", name="uq_shipment_events_carrier_event"),
    )
    op.create_index(
        "ix_shipment_events_shipment_occurred",
        "shipment_events",
        ["shipment_id", "occurred_at"],
    )
    _notifications_upgrade()
    _analytics_upgrade()
    _phones_upgrade()


def _analytics_upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_domain_events_event_id")),
    )
    op.create_index(
        "ix_domain_events_unpublished",
        "domain_events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_domain_events_unrolled",
        "domain_events",
        ["id"],
        postgresql_where=sa.text("rolled_up_at IS NULL"),
    )
    op.create_index("ix_domain_events_type_occurred", "domain_events", ["type", "occurred_at"])
    op.create_table(
        "sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.Integer(), nullable=False),
        sa.Column("refunds_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", name=op.f("pk_sales_daily")),
    )
    op.create_table(
        "sales_daily_books",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", "book_id", name=op.f("pk_sales_daily_books")),
    )


def _timestamp(name: str, nullable: bool = False, default: bool = True) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default else None,
        nullable=nullable,
    )


def _notifications_upgrade() -> None:
    op.add_column(
        "notification_preferences",
        sa.Column("channels", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "notification_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "context", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        _timestamp("created_at"),
        _timestamp("dispatched_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_events_dedupe_key")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=220), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("sent_at", nullable=True, default=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'skipped')",
            name=op.f("ck_notification_deliveries_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notification_events.id"],
            name=op.f("fk_notification_deliveries_event_id_notification_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_deliveries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_deliveries_dedupe_key")),
    )
    op.create_index(
        op.f("ix_notification_deliveries_event_id"), "notification_deliveries", ["event_id"]
    )
    op.create_table(
        "in_app_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        _timestamp("created_at"),
        _timestamp("read_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_in_app_notifications_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_in_app_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_in_app_notifications")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_in_app_notifications_delivery_id")),
    )
    op.create_index(
        "ix_in_app_notifications_unread",
        "in_app_notifications",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "ix_in_app_notifications_user_created", "in_app_notifications", ["user_id", "created_at"]
    )
    op.create_table(
        "back_in_stock_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("book_id", sa.Uuid(), nullable=False),
        _timestamp("created_at"),
        _timestamp("notified_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_back_in_stock_requests_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_back_in_stock_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_in_stock_requests")),
    )
    op.create_index(
        op.f("ix_back_in_stock_requests_book_id"), "back_in_stock_requests", ["book_id"]
    )
    op.create_index(
        "uq_back_in_stock_open",
        "back_in_stock_requests",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text("notified_at IS NULL"),
    )


def _phones_upgrade() -> None:
    op.create_table(
        "user_phones",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_phones_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_phones")),
    )


def downgrade() -> None:
    op.drop_table("user_phones")
    for table in ("sales_daily_books", "sales_daily", "domain_events"):
        op.drop_table(table)
    for table in (
        "back_in_stock_requests",
        "in_app_notifications",
        "notification_deliveries",
        "notification_events",
    ):
        op.drop_table(table)
    op.drop_column("notification_preferences", "channels")
    op.drop_index("ix_shipment_events_shipment_occurred", table_name="shipment_events")
    op.drop_table("shipment_events")
    op.drop_index("ix_shipments_open_last_event", table_name="shipments")
    op.drop_constraint(op.f("ck_shipments_status_known"), "shipments", type_="check")
    op.execute(
        "UPDATE shipments SET status = 'shipped' WHERE status IN "
        "('label_created', 'in_transit', 'out_for_delivery', 'exception')"
    )
    op.create_check_constraint(op.f("ck_shipments_status_known"), "shipments", OLD_STATUSES)
    for column in ("estimated_delivery", "last_event_at", "status_at", "label_url"):
        op.drop_column("shipments", column)
