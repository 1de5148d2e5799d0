"""The audit trail: every staff change records who did what, with before and after."""

from __future__ import annotations

import uuid

from models import AuditLog, db


def record(
    actor_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Add an audit row to the session; it commits with the change it describes."""
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry
