"""Webhooks: provider notifications, verified, acknowledged fast and handed to a task."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from app.api.base import Blueprint, Schema, contract
from app.extensions import limiter
from models import db
from services import outbox, payments
from services.payments import events
from tasks.chains import send_recorded

blp = Blueprint("webhooks", __name__, description="Webhooks from payment providers")


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean()
    outcome = ma.fields.String()


@blp.route("/webhooks/stripe")
class StripeWebhook(MethodView):
    decorators = [limiter.exempt]

    @blp.response(200, WebhookAckSchema)
    @contract(events.InvalidSignature)
    def post(self):
        """Stripe events: signature checked, each event applied once by a payments task."""
        event = events.verify(
            request.get_data(),
            request.headers.get("Stripe-Signature"),
            payments.settings().webhook_secret,
        )
        if events.already_processed(event.event_id):
            return {"received": True, "outcome": "duplicate"}
        if event.type not in events.HANDLED:
            events.record_ignored(event)
            return {"received": True, "outcome": "ignored"}
        message = outbox.record(outbox.PAYMENT_EVENT, event.as_payload())
        db.session.commit()
        send_recorded(current_app.extensions["celery"], [message.id])
        return {"received": True, "outcome": "queued"}
