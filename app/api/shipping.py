"""Shipping: carrier webhooks (``POST /webhooks/shipping/{carrier}``) and an order's tracking."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from app.api.base import Blueprint, Schema, contract
from app.auth import login_required, require_user
from services.orders import lifecycle as orders
from services.shipping import carriers, tracking
from tasks.chains import send_recorded

blp = Blueprint("shipping", __name__, description="Shipping and tracking")


class WebhookReceiptSchema(Schema):
    received = ma.fields.Integer()
    recorded = ma.fields.Integer()
    unknown = ma.fields.Integer()


class TrackingEventSchema(Schema):
    status = ma.fields.String()
    at = ma.fields.DateTime()
    location = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)


class TrackingSchema(Schema):
    carrier = ma.fields.String(allow_none=True)
    tracking_number = ma.fields.String(allow_none=True)
    status = ma.fields.String(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(TrackingEventSchema))
    estimated_delivery = ma.fields.DateTime(allow_none=True)


@blp.route("/webhooks/shipping/<string:carrier>")
class ShippingWebhook(MethodView):
    @contract(carriers.UnknownCarrier, carriers.InvalidWebhook, "payload_too_large")
    @blp.response(200, WebhookReceiptSchema)
    def post(self, carrier):
        """A carrier's status events. The carrier must be a registered adapter (404 otherwise)
        and the delivery signed by it (400 otherwise). Each event is recorded once; applying
        them to the shipment and order happens on the ``shipping`` queue."""
        adapter = carriers.build(carrier, current_app.config)
        events = adapter.verify_webhook(request.headers, request.get_data())
        result = tracking.record_events(adapter.name, events, source="webhook")
        send_recorded(current_app.extensions["celery"], result.pop("outbox_ids"))
        return result


@blp.route("/orders/<uuid:order_id>/tracking")
class OrderTracking(MethodView):
    @login_required
    @contract(orders.OrderNotFound)
    @blp.response(200, TrackingSchema)
    def get(self, order_id):
        """Where your parcel is: the carrier's events in carrier-time order."""
        return tracking.tracking_view(orders.get_for(order_id, require_user()))
