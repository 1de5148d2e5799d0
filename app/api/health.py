"""Liveness and readiness probes for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.ops import health

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up (no dependency is checked)."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """Each dependency named with its state; 503 when one is down."""
    checks = health.check_all(current_app.config, current_app.extensions["celery"])
    # "degraded": it answers another way (search from PostgreSQL while its index is rebuilt).
    ready = all(check["status"] in ("up", "degraded", "disabled") for check in checks.values())
    response = jsonify(status="ready" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    return response
