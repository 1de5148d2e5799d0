"""Shipping tasks (queue ``shipping``): apply carrier events, poll stale shipments, and the
simulated carrier's clock."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from celery import shared_task
from flask import current_app

from models import db
from services.ops.jobs import record_run
from services.shipping import carriers, simulation, tracking
from services.shipping.simulated import SimulatedCarrier
from tasks.chains import send_recorded
from tasks.orders import STEP_RETRY

log = logging.getLogger(__name__)


@shared_task(name="tasks.shipping.apply_shipment_events", bind=True, **STEP_RETRY)
def apply_shipment_events(self, shipment_id: str) -> int:
    """Apply a shipment's new carrier events (idempotent: applied events are skipped)."""
    outbox_ids = tracking.apply_events(uuid.UUID(shipment_id))
    send_recorded(self.app, outbox_ids)
    return len(outbox_ids)


@shared_task(name="tasks.shipping.poll_stale_shipments", bind=True)
def poll_stale_shipments(self) -> int:
    """Safety net for lost webhooks: ask the carrier about shipments with no event for
    TRACKING_STALE_HOURS and record what it says (applied like webhook events)."""
    config = current_app.config
    with record_run("poll_stale_shipments") as run:
        stale = tracking.stale_shipments(datetime.now(UTC), config["TRACKING_STALE_HOURS"])
        targets = [(shipment.carrier, shipment.tracking_number) for shipment in stale]
        db.session.rollback()
        recorded = 0
        for carrier_name, tracking_number in targets:
            if not carriers.is_registered(carrier_name):
                continue  # entered by staff for a carrier we have no adapter for
            try:
                adapter = carriers.build(carrier_name, config)
            except carriers.UnknownCarrier:
                continue  # registered but not configured here
            events = adapter.track(tracking_number)
            result = tracking.record_events(carrier_name, events, source="poll")
            recorded += result["recorded"]
            send_recorded(self.app, result["outbox_ids"])
        run.counts.update(polled=len(targets), recorded=recorded)
    return len(targets)


@shared_task(name="tasks.shipping.simulate_carrier")
def simulate_carrier(webhook_url: str | None = None, step_seconds: float | None = None) -> int:
    """CARRIER_SIMULATION=on: move simulated shipments one step by signed webhooks to our own
    endpoint. Arguments override the settings (tests point it at their server)."""
    config = current_app.config
    if webhook_url is None and not config["CARRIER_SIMULATION"]:
        return 0
    carrier = SimulatedCarrier.from_settings(config)
    return simulation.advance(
        carrier,
        webhook_url or config["CARRIER_SIMULATION_WEBHOOK_URL"],
        config["CARRIER_SIMULATION_STEP_SECONDS"] if step_seconds is None else step_seconds,
    )
