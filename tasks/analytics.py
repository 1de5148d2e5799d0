"""Analytics tasks (queue ``analytics``): publish domain events, roll up sales."""

from __future__ import annotations

from celery import shared_task

from services.analytics import publishing, sales
from services.ops.jobs import record_run


@shared_task(name="tasks.analytics.publish_events", bind=True)
def publish_events(self) -> int:
    """Drain the domain events table into the ``events`` fanout exchange."""
    with self.app.producer_or_acquire() as producer:
        return publishing.publish_pending(producer)


@shared_task(name="tasks.analytics.rollup_sales")
def rollup_sales() -> int:
    """Rebuild the sales hours that have new events."""
    with record_run("rollup_sales") as run:
        run.counts["hours"] = sales.rollup()
    return run.counts["hours"]
