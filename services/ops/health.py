"""Dependency checks behind /readyz: database, broker, Redis and search."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from sqlalchemy import text

from models import db
from services.search import readiness

TIMEOUT_SECONDS = 2.0


def _timed(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means "down"; the reason is reported
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def check_broker(celery_app) -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)


def check_redis(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def check_all(config, celery_app) -> dict[str, dict]:
    checks = {
        "database": _timed(check_database),
        "broker": _timed(lambda: check_broker(celery_app)),
        "redis": _timed(lambda: check_redis(config["REDIS_URL"])),
    }
    checks["search"] = _timed_state(
        lambda: readiness.state(config["SEARCH_BACKEND"], config.get("ELASTICSEARCH_URL"))
    )
    return checks


def _timed_state(check: Callable[[], dict]) -> dict:
    """A check that reports its own state (status and details), timed like the others."""
    started = time.perf_counter()
    try:
        state = check()
    except Exception as exc:  # any failure means "down"; the reason is reported
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {**state, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
