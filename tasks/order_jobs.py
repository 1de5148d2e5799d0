"""Scheduled jobs of the order area (queue maintenance): cart expiry, unpaid-order expiry and
the outbox relay. Each records its runs for GET /admin/jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task
from flask import current_app

from models import db
from services import outbox
from services.inventory import stock as inventory
from services.ops.jobs import record_run
from services.orders import cart
from services.orders import lifecycle as orders
from tasks.chains import publish, send_recorded

log = logging.getLogger(__name__)


@shared_task(name="tasks.maintenance.expire_carts")
def expire_carts() -> int:
    """Close carts idle past their TTL."""
    with record_run("expire_carts") as run:
        expired = cart.expire_idle(datetime.now(UTC))
        db.session.commit()
        run.counts["expired"] = expired
    return expired


@shared_task(name="tasks.maintenance.expire_unpaid_orders", bind=True)
def expire_unpaid_orders(self) -> int:
    """Orders pending or awaiting payment past their deadline: stock released, cancelled."""
    with record_run("expire_unpaid_orders") as run:
        expired, outbox_ids = orders.expire_unpaid(datetime.now(UTC))
        # Reservations whose order is gone or already settled elsewhere.
        orphans = inventory.expire_reservations(datetime.now(UTC))
        db.session.commit()
        send_recorded(self.app, outbox_ids)
        run.counts["orders_expired"] = len(expired)
        run.counts["reservations_expired"] = len(orphans)
    return len(expired)


@shared_task(name="tasks.maintenance.relay_outbox", bind=True)
def relay_outbox(self) -> int:
    """Send recorded work that was never sent (e.g. the broker was down at checkout)."""
    with record_run("outbox_relay") as run:
        due = outbox.claim_due(current_app.config["OUTBOX_RELAY_AFTER_SECONDS"])
        sent = publish(self.app, due)
        outbox.mark_sent(sent)
        db.session.commit()
        run.counts["due"] = len(due)
        run.counts["sent"] = len(sent)
    if due:  # quiet when there was nothing to do (it runs every few seconds)
        log.info(
            "outbox relay sent %d of %d due message(s)",
            len(sent),
            len(due),
            extra={"due": len(due), "sent": len(sent)},
        )
    return len(sent)
