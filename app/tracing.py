"""OpenTelemetry for the API process (off unless configured: see services.observability.tracing)."""

from __future__ import annotations

from flask import Flask

from models import db
from services.observability import tracing


def register_tracing(app: Flask) -> None:
    tracing.instrument_app(app, db.engines())
