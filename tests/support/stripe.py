"""Stripe in tests: a real localstripe server, a worker configured for it, signed events.

Import the fixtures into a test module (``from tests.support.stripe import ...``)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import time
import uuid

import pytest
import stripe

from services import settings
from tests.support.localstripe import LocalStripe
from tests.support.workers import WorkerProcess
from workers import QUEUES

API_KEY = "sk_test_bookstore_localstripe"
WEBHOOK_SECRET = "whsec_bookstore_test_secret"


@pytest.fixture(scope="session")
def localstripe():
    server = LocalStripe().start()
    yield server
    server.stop()


@contextlib.contextmanager
def bound_settings(config: dict):
    """Services in this process read ``config`` meanwhile (as a process started with it)."""
    before = settings.current()
    settings.bind(settings.Settings.from_config(config))
    try:
        yield
    finally:
        settings.bind(before)


def stripe_config(server: LocalStripe, **overrides) -> dict:
    return {
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_API_BASE": server.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_TIMEOUT_SECONDS": "5",
        **overrides,
    }


@pytest.fixture
def stripe_client(localstripe) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def _node(process: WorkerProcess) -> str:
    return process.hostname.replace("%h", os.uname().nodename)


@pytest.fixture(scope="module")
def stripe_worker(app, worker, localstripe):
    """A real worker (every queue) with PAYMENT_PROVIDER=stripe against localstripe; the
    session's dummy worker stops consuming meanwhile. The app in this process uses the same
    settings (checkout, webhook secret)."""
    control = app.extensions["celery"].control
    paused = [_node(worker)]
    for queue in QUEUES:
        control.cancel_consumer(queue, destination=paused, reply=True)
    process = WorkerProcess(app.extensions["celery"], name="stripe", env=stripe_config(localstripe))
    process.start()
    try:
        with bound_settings({**app.config, **stripe_config(localstripe)}):
            yield process
    finally:
        process.stop()
        for queue in QUEUES:
            control.add_consumer(queue, destination=paused, reply=True)


def signed(event: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send for ``event``."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, f"t={timestamp},v1={digest}"


def event_for(kind: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def post_event(client, event: dict, **sign):
    payload, header = signed(event, **sign)
    return client.post(
        "/api/v1/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
