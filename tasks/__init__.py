"""Celery tasks: thin and idempotent, taking ids; a module's tasks run on its own queue."""

from tasks import (  # noqa: F401
    analytics,
    diagnostics,
    email,
    maintenance,
    notifications,
    order_jobs,
    orders,
    shipping,
)
