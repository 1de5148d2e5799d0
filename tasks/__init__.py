"""Celery tasks: thin and idempotent, taking ids; a module's tasks run on its own queue.

``tasks.diagnostics`` is imported only with ENABLE_DIAGNOSTIC_TASKS (see workers)."""

from tasks import (  # noqa: F401
    analytics,
    email,
    maintenance,
    notifications,
    order_jobs,
    orders,
    payments,
    privacy,
    recommendations,
    reviews,
    search,
    shipping,
)
