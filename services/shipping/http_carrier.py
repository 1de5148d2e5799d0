"""An EasyPost-style carrier over HTTP (a generic tracking API shape), for real carriers.

- ``POST {CARRIER_API_BASE}/shipments`` with ``Authorization: Bearer {CARRIER_API_KEY}`` and
  ``Idempotency-Key: <order id>``, body ``{reference, to_address, parcel: {items}}`` →
  ``{tracking_number, label_url, estimated_delivery}``.
- ``GET {CARRIER_API_BASE}/trackers/{tracking_number}`` → ``{events: [{id, status,
  occurred_at, location, description}]}``.
- Webhooks: the same ``{"events": [...]}`` body, signed ``X-Webhook-Signature: sha256=<hex
  HMAC-SHA256 of the body with CARRIER_WEBHOOK_SECRET>``.
Statuses must already be ours (label_created, in_transit, out_for_delivery, delivered,
exception); an adapter for a carrier with other words maps them in ``parse_events``."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import datetime

from services.shipping.carriers import (
    CarrierAdapter,
    CarrierEvent,
    InvalidWebhook,
    Label,
    UnknownCarrier,
)
from services.shipping.simulated import parse_events

SIGNATURE_HEADER = "X-Webhook-Signature"


class CarrierUnavailable(ConnectionError):
    """The carrier's API failed in a way worth retrying (network, 5xx, 429)."""


class HttpCarrier(CarrierAdapter):
    name = "http"

    def __init__(self, api_base: str, api_key: str, webhook_secret: str, timeout: float = 10):
        self.api_base = api_base.rstrip("/")
        self.api_key = api_key
        self.webhook_secret = webhook_secret.encode()
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Mapping) -> HttpCarrier:
        base, key = settings.get("CARRIER_API_BASE"), settings.get("CARRIER_API_KEY")
        secret = settings.get("CARRIER_WEBHOOK_SECRET")
        if not (base and key and secret):
            raise UnknownCarrier("The http carrier is not configured.")
        return cls(base, key, secret)

    def _call(self, method: str, path: str, body: dict | None = None, headers=None) -> dict:
        request = urllib.request.Request(
            self.api_base + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise CarrierUnavailable(f"carrier answered {exc.code}") from exc
            raise
        except (urllib.error.URLError, TimeoutError) as exc:
            raise CarrierUnavailable(str(exc)) from exc

    def create_shipment(self, order) -> Label:
        answer = self._call(
            "POST",
            "/shipments",
            {
                "reference": str(order.id),
                "to_address": order.shipping_address,
                "parcel": {"items": sum(line.quantity for line in order.lines)},
            },
            headers={"Idempotency-Key": str(order.id)},
        )
        estimated = answer.get("estimated_delivery")
        return Label(
            carrier=self.name,
            tracking_number=answer["tracking_number"],
            label_url=answer.get("label_url"),
            estimated_delivery=datetime.fromisoformat(estimated) if estimated else None,
        )

    def track(self, tracking_number: str) -> list[CarrierEvent]:
        quoted = urllib.parse.quote(tracking_number, safe="")
        answer = self._call("GET", f"/trackers/{quoted}")
        events = [
            {**event, "tracking_number": tracking_number} for event in answer.get("events", [])
        ]
        return parse_events(json.dumps({"events": events}).encode())

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        given = (headers.get(SIGNATURE_HEADER) or "").removeprefix("sha256=")
        expected = hmac.new(self.webhook_secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            raise InvalidWebhook("Signature does not match.")
        return parse_events(body)
