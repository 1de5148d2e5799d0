"""The simulated carrier: a stateless carrier whose tracking number encodes when the label
was made, so ``track`` can say where the parcel is; its webhooks are HMAC-signed like a real
carrier's (header ``X-Carrier-Signature: t=<unix>,v1=<hex sha256 of "<t>.<body>">``).

Webhook body: ``{"events": [{"id", "tracking_number", "status", "occurred_at" (ISO 8601),
"location", "description"}]}``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from services.shipping.carriers import (
    CARRIER_STATUSES,
    CarrierAdapter,
    CarrierEvent,
    InvalidWebhook,
    Label,
)

SIGNATURE_HEADER = "X-Carrier-Signature"
HAPPY_PATH = ("label_created", "in_transit", "out_for_delivery", "delivered")
WITH_EXCEPTION = (
    "label_created",
    "in_transit",
    "exception",
    "in_transit",
    "out_for_delivery",
    "delivered",
)
LOCATIONS = {
    "label_created": "Bookstore warehouse",
    "in_transit": "Regional sorting centre",
    "exception": "Regional sorting centre",
    "out_for_delivery": "Local depot",
    "delivered": "Front door",
}
DESCRIPTIONS = {
    "label_created": "Shipping label created",
    "in_transit": "In transit",
    "exception": "Delivery exception: address could not be read, being relabelled",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
}


def simulated_secret(settings: Mapping) -> str:
    """The simulated carrier's webhook secret: CARRIER_SIMULATED_WEBHOOK_SECRET, or one
    derived from SECRET_KEY (so the app and its workers agree without another secret)."""
    explicit = settings.get("CARRIER_SIMULATED_WEBHOOK_SECRET")
    if explicit:
        return explicit
    key = settings["SECRET_KEY"].encode()
    return hmac.new(key, b"carrier-webhook:simulated", hashlib.sha256).hexdigest()


class SimulatedCarrier(CarrierAdapter):
    name = "simulated"

    def __init__(
        self,
        secret: str,
        step_seconds: int = 60,
        exception_percent: int = 5,
        tolerance_seconds: int = 300,
    ) -> None:
        self.secret = secret.encode()
        self.step_seconds = step_seconds
        self.exception_percent = exception_percent
        self.tolerance_seconds = tolerance_seconds

    @classmethod
    def from_settings(cls, settings: Mapping) -> SimulatedCarrier:
        return cls(
            simulated_secret(settings),
            step_seconds=int(settings.get("CARRIER_SIMULATION_STEP_SECONDS", 60)),
            exception_percent=int(settings.get("CARRIER_SIMULATION_EXCEPTION_PERCENT", 5)),
            tolerance_seconds=int(settings.get("CARRIER_WEBHOOK_TOLERANCE_SECONDS", 300)),
        )

    # --- the journey ------------------------------------------------------------------
    def _digest(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def journey(self, tracking_number: str) -> tuple[str, ...]:
        """The statuses this parcel goes through (a small share has an exception)."""
        bucket = int(self._digest(f"journey:{tracking_number}")[:8], 16) % 100
        return WITH_EXCEPTION if bucket < self.exception_percent else HAPPY_PATH

    def event(self, tracking_number: str, index: int, at: datetime) -> CarrierEvent:
        status = self.journey(tracking_number)[index]
        return CarrierEvent(
            event_id=f"{tracking_number}-{index}",
            tracking_number=tracking_number,
            status=status,
            occurred_at=at,
            location=LOCATIONS[status],
            description=DESCRIPTIONS[status],
        )

    @staticmethod
    def label_time(tracking_number: str) -> datetime:
        return datetime.fromtimestamp(int(tracking_number.split("-")[1]), UTC)

    # --- the adapter interface --------------------------------------------------------
    def create_shipment(self, order) -> Label:
        # Deterministic per order: calling it again for the same order gives the same label.
        made = int(order.created_at.timestamp())
        tracking_number = f"SIM-{made}-{self._digest(f'order:{order.id}')[:10].upper()}"
        steps = len(self.journey(tracking_number))
        return Label(
            carrier=self.name,
            tracking_number=tracking_number,
            label_url=f"https://carrier.invalid/simulated/labels/{tracking_number}.pdf",
            estimated_delivery=order.created_at + timedelta(seconds=steps * self.step_seconds),
        )

    def track(self, tracking_number: str) -> list[CarrierEvent]:
        """The events due by now: step ``i`` happens ``(i + 1) * step_seconds`` after the label."""
        start = self.label_time(tracking_number)
        now = datetime.now(UTC)
        events = []
        for index in range(len(self.journey(tracking_number))):
            at = start + timedelta(seconds=(index + 1) * self.step_seconds)
            if at > now:
                break
            events.append(self.event(tracking_number, index, at))
        return events

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(self.secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return {SIGNATURE_HEADER: f"t={stamp},v1={digest}", "Content-Type": "application/json"}

    def body(self, events: list[CarrierEvent]) -> bytes:
        return json.dumps(
            {
                "events": [
                    {
                        "id": event.event_id,
                        "tracking_number": event.tracking_number,
                        "status": event.status,
                        "occurred_at": event.occurred_at.isoformat(),
                        "location": event.location,
                        "description": event.description,
                    }
                    for event in events
                ]
            }
        ).encode()

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        header = headers.get(SIGNATURE_HEADER) or ""
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        try:
            stamp = int(parts.get("t", ""))
        except ValueError as exc:
            raise InvalidWebhook("Missing or malformed signature header.") from exc
        if abs(time.time() - stamp) > self.tolerance_seconds:
            raise InvalidWebhook("Signature timestamp outside the tolerance.")
        expected = hmac.new(self.secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise InvalidWebhook("Signature does not match.")
        return parse_events(body)


def parse_events(body: bytes) -> list[CarrierEvent]:
    try:
        raw = json.loads(body)
        events = [
            CarrierEvent(
                event_id=str(item["id"])[:128],
                tracking_number=str(item["tracking_number"])[:128],
                status=_text(item["status"]) or "",
                occurred_at=_aware(datetime.fromisoformat(item["occurred_at"])),
                location=_text(item.get("location"), 200),
                description=_text(item.get("description"), 500),
            )
            for item in raw["events"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhook("Malformed webhook body.") from exc
    unknown = {event.status for event in events} - set(CARRIER_STATUSES)
    if unknown:
        raise InvalidWebhook(f"Unknown status {sorted(unknown)}.")
    return events


def _text(value, limit: int | None = None) -> str | None:
    """A string field of an event, cut to its column's length (empty is None); anything but a
    string is a malformed body (TypeError), not a value to store."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value[:limit] or None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
