"""Periodic housekeeping tasks run by Celery beat (queue ``maintenance``)."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task


@shared_task(name="tasks.maintenance.heartbeat")
def heartbeat() -> str:
    """Proves beat and a maintenance worker are alive (visible in Flower)."""
    return datetime.now(UTC).isoformat()
