"""PII encrypted at rest (saved addresses, order shipping addresses, phone numbers); users.erased_at

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-01 16:00:00

The columns become text holding ``pii1:<key id>:<sealed value>`` (models/encryption.py);
existing plaintext rows are sealed with the newest PII key, in batches. Downgrade opens them.
"""

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from config import secrets, settings
from models import encryption

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
# table -> (primary key, {column: its type before this revision})
PLAIN_TYPES = {
    "addresses": (
        "id",
        {
            "name": sa.String(length=200),
            "line1": sa.Text(),
            "line2": sa.Text(),
            "city": sa.String(length=128),
            "region": sa.String(length=128),
            "postal_code": sa.String(length=32),
        },
    ),
    "user_phones": ("user_id", {"phone_e164": sa.String(length=20)}),
    "orders": ("id", {"shipping_address": postgresql.JSONB(astext_type=sa.Text())}),
}
JSON_COLUMNS = {("orders", "shipping_address")}


def _keyring() -> encryption.Keyring:
    var_dir = Path(os.environ.get("BOOKSTORE_VAR_DIR") or settings.VAR_DIR)
    return encryption.Keyring.parse(secrets.resolve_pii_keys(os.environ, var_dir))


def upgrade() -> None:
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    for table, (_, columns) in PLAIN_TYPES.items():
        for column, plain in columns.items():
            op.alter_column(
                table,
                column,
                type_=sa.Text(),
                existing_type=plain,
                postgresql_using=f"{column}::text",
            )
    keyring = _keyring()

    def seal(table: str, column: str, value: str) -> str:
        if encryption.key_id_of(value) is not None:
            return value  # already sealed (a re-run)
        if (table, column) in JSON_COLUMNS:
            value = json.dumps(json.loads(value), separators=(",", ":"), sort_keys=True)
        return keyring.encrypt(value, f"{table}.{column}")

    _rewrite_all(seal)


def downgrade() -> None:
    keyring = _keyring()

    def open_(table: str, column: str, value: str) -> str:
        if encryption.key_id_of(value) is None:
            return value
        return keyring.decrypt(value, f"{table}.{column}")

    _rewrite_all(open_)
    for table, (_, columns) in PLAIN_TYPES.items():
        for column, plain in columns.items():
            cast = (
                "jsonb" if (table, column) in JSON_COLUMNS else plain.compile(op.get_bind().dialect)
            )
            op.alter_column(
                table,
                column,
                type_=plain,
                existing_type=sa.Text(),
                postgresql_using=f"{column}::{cast}",
            )
    op.drop_column("users", "erased_at")


def _rewrite_all(change: Callable[[str, str, str], str]) -> None:
    """Pass every non-NULL value of the PII columns through ``change``, in key order."""
    conn = op.get_bind()
    for table, (key, columns) in PLAIN_TYPES.items():
        names = list(columns)
        selected = ", ".join(f"{name}::text AS {name}" for name in names)
        last = None
        while True:
            after = f"WHERE {key} > :last " if last is not None else ""
            rows = conn.execute(
                sa.text(
                    f"SELECT {key} AS key, {selected} FROM {table} {after}ORDER BY {key} LIMIT {BATCH}"
                ),
                {"last": last},
            ).all()
            if not rows:
                break
            for row in rows:
                values = {
                    name: change(table, name, getattr(row, name))
                    for name in names
                    if getattr(row, name) is not None
                }
                if values:
                    assignments = ", ".join(f"{name} = :{name}" for name in values)
                    conn.execute(
                        sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"),
                        {**values, "key": row.key},
                    )
            last = rows[-1].key
