"""Tiny tasks operators (and tests) use to check that workers and every queue answer."""

from __future__ import annotations

import os

from celery import shared_task


@shared_task(name="tasks.diagnostics.echo")
def echo(payload: dict, stamp: str) -> dict:
    """Append ``stamp`` and this worker's pid to ``payload['trail']`` and pass it on."""
    trail = list(payload.get("trail", []))
    trail.append({"stamp": stamp, "pid": os.getpid()})
    return {**payload, "trail": trail}
