"""The carrier adapter interface and the registry of adapters by name.

An adapter creates a shipment (label and tracking number), reads a shipment's events
(``track``, for the stale-shipment poll) and checks and parses a webhook delivery. The name in
``POST /webhooks/shipping/{carrier}`` is only ever looked up in ``ADAPTERS``."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.errors import DomainError, NotFound

# The statuses a carrier event may carry (the shipment's status follows them).
CARRIER_STATUSES = ("label_created", "in_transit", "out_for_delivery", "delivered", "exception")


class UnknownCarrier(NotFound):
    """No carrier adapter of that name is registered."""

    error = "unknown_carrier"


class InvalidWebhook(DomainError):
    """The webhook's signature or body is not valid."""

    error = "invalid_webhook"


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    label_url: str | None
    estimated_delivery: datetime | None = None


@dataclass(frozen=True)
class CarrierEvent:
    event_id: str
    tracking_number: str
    status: str
    occurred_at: datetime
    location: str | None = None
    description: str | None = None


class CarrierAdapter(abc.ABC):
    name: str

    @abc.abstractmethod
    def create_shipment(self, order) -> Label:
        """Buy the label for ``order``. Must be idempotent per order (a retried step calls
        it again): adapters pass the order id as the carrier's idempotency reference."""

    @abc.abstractmethod
    def track(self, tracking_number: str) -> list[CarrierEvent]:
        """Every event the carrier knows for this tracking number."""

    @abc.abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        """The events of an authentic webhook delivery; InvalidWebhook otherwise."""


def adapters() -> dict[str, type[CarrierAdapter]]:
    from services.shipping.http_carrier import HttpCarrier
    from services.shipping.simulated import SimulatedCarrier

    return {SimulatedCarrier.name: SimulatedCarrier, HttpCarrier.name: HttpCarrier}


def is_registered(name: str) -> bool:
    return name in adapters()


def build(name: str, settings: Mapping) -> CarrierAdapter:
    """The adapter registered as ``name``, configured from ``settings`` (the app config)."""
    adapter = adapters().get(name)
    if adapter is None:
        raise UnknownCarrier()
    return adapter.from_settings(settings)
