"""Dependency checks behind /readyz: database, broker, Redis and search."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from sqlalchemy import text

from models import db

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
    if config.get("ELASTICSEARCH_URL"):
        checks["search"] = _timed(lambda: _check_search(config["ELASTICSEARCH_URL"]))
    else:
        checks["search"] = {"status": "disabled", "detail": "ELASTICSEARCH_URL not set"}
    return checks


def _check_search(url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        response.read()
