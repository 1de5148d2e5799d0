"""Tiny tasks operators (and tests) use to check that workers and every queue answer."""

from __future__ import annotations

import os

import redis
from celery import shared_task
from flask import current_app


@shared_task(name="tasks.diagnostics.echo")
def echo(payload: dict, stamp: str) -> dict:
    """Append ``stamp`` and this worker's pid to ``payload['trail']`` and pass it on."""
    trail = list(payload.get("trail", []))
    trail.append({"stamp": stamp, "pid": os.getpid()})
    return {**payload, "trail": trail}


@shared_task(name="tasks.diagnostics.fail")
def fail(message: str) -> None:
    """Always fails: proves failures reach the failed-task store and can be re-driven."""
    raise RuntimeError(message)


@shared_task(name="tasks.diagnostics.flaky", bind=True, max_retries=5)
def flaky(self, message: str, failures: int) -> str:
    """Retries ``failures`` times, then succeeds: a retry is not a failure."""
    if self.request.retries < failures:
        raise self.retry(countdown=0)
    return message


@shared_task(name="tasks.diagnostics.fail_until")
def fail_until(flag: str) -> str:
    """Fails until the Redis key ``diagnostics:<flag>`` exists: lets an operator (or a test)
    fix the cause of a failure, re-drive the step and see its chain continue."""
    client = redis.Redis.from_url(current_app.config["REDIS_URL"])
    try:
        if not client.exists(f"diagnostics:{flag}"):
            raise RuntimeError(f"flag {flag!r} is not set")
    finally:
        client.close()
    return flag
