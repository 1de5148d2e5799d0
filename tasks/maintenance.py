"""Periodic housekeeping tasks run by Celery beat (queue ``maintenance``).

Each job records its run (``services.jobs.record_run``) for ``GET /admin/jobs``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task

from models import db
from services.catalog import cache as catalog_cache
from services.inventory import alerts as stock_alerts
from services.inventory import reconciliation as stock_reconciliation
from services.notifications import staff as staff_alerts
from services.notifications.email import TransientEmailError
from services.ops.jobs import record_run

log = logging.getLogger(__name__)

# Alerts listed in a run's counts (the full number is in counts["alerted"]).
ALERTS_LISTED_IN_COUNTS = 100


@shared_task(name="tasks.maintenance.heartbeat")
def heartbeat() -> str:
    """Proves beat and a maintenance worker are alive (in Flower and ``GET /admin/jobs``)."""
    with record_run("heartbeat"):
        return datetime.now(UTC).isoformat()


@shared_task(name="tasks.maintenance.low_stock_alerts")
def low_stock_alerts() -> int:
    """Report the books that fell to or under their low-stock threshold, once per crossing."""
    with record_run("low_stock_alerts") as run:
        now = datetime.now(UTC)
        alerts = stock_alerts.claim_low_stock_alerts(now)
        db.session.commit()
        run.counts["digests"] = _mail_staff(lambda: staff_alerts.mail_low_stock_digests(now))
        run.counts["alerted"] = len(alerts)
        run.counts["alerts"] = alerts[:ALERTS_LISTED_IN_COUNTS]
        if alerts:
            log.warning("low stock: %d new alerts, e.g. %s", len(alerts), alerts[:5])
    return len(alerts)


@shared_task(name="tasks.maintenance.reconcile_stock")
def reconcile_stock() -> str:
    """Nightly: recompute stock from the ledger and live reservations, repair drift."""
    with record_run("reconcile_stock") as run:
        report = stock_reconciliation.reconcile_stock()
        run.counts.update(
            report_id=str(report.id),
            rows_checked=report.rows_checked,
            drift_found=report.drift_found,
        )
    if report.drift_found:
        catalog_cache.stock_changed()
        _mail_staff(lambda: staff_alerts.mail_drift(report))
    return str(report.id)


def _mail_staff(send):
    """Staff mail is best effort here: a transient failure is logged and the next run (which
    re-sends what is still unsent) catches up; the job itself has done its work."""
    try:
        return send()
    except TransientEmailError:
        log.warning("staff alert mail deferred to the next run", exc_info=True)
        return None
