"""Key rotation of the PII encrypted at rest: every value sealed with an older PII key is opened
and sealed again with the newest, a batch of rows per transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Table, Text, and_, func, or_, select, type_coerce, update

from models import Base, db
from models.encryption import PREFIX, EncryptedText, keyring

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableRotation:
    table: str
    rows: int  # rows re-sealed


def encrypted_tables() -> list[tuple[Table, list[Column]]]:
    """Every table with encrypted columns, and those columns (read from the models)."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            found.append((table, columns))
    return found


def rotate(batch_size: int = 500, progress: Progress | None = None) -> list[TableRotation]:
    """Re-seal every PII value not sealed with the newest key. Each batch locks its rows (a row
    being written is re-read once its writer committed) and commits; run it once every process
    seals with the newest key. Safe to re-run: rows under the newest key are not touched."""
    ring = keyring()
    current = f"{PREFIX}:{ring.newest_id}:"
    done = []
    for table, columns in encrypted_tables():
        (key,) = table.primary_key.columns
        raw = {column.name: type_coerce(column, Text) for column in columns}
        stale = or_(
            *(
                and_(value.is_not(None), ~value.startswith(current, autoescape=True))
                for value in raw.values()
            )
        )
        total = db.session.scalar(select(func.count()).select_from(table).where(stale)) or 0
        rows_done, last = 0, None
        while True:
            query = select(key, *raw.values()).where(stale).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            rows = db.session.execute(query.with_for_update()).all()
            if not rows:
                break
            for row in rows:
                resealed = {}
                for column, stored in zip(columns, row[1:], strict=True):
                    if stored is not None and not stored.startswith(current):
                        context = column.type.context
                        plain = ring.decrypt(stored, context)
                        resealed[column.name] = type_coerce(ring.encrypt(plain, context), Text)
                if resealed:  # (a row re-sealed meanwhile no longer matches ``stale``)
                    db.session.execute(update(table).where(key == row[0]).values(**resealed))
            db.session.commit()
            rows_done += len(rows)
            last = rows[-1][0]
            if progress:
                progress(table.name, rows_done, max(total, rows_done))
        done.append(TableRotation(table.name, rows_done))
    return done
