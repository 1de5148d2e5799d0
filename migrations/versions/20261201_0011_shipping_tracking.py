"""shipping: carrier tracking events, shipment label/status clock

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-01 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0004"
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


def downgrade() -> None:
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
