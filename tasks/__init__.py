"""Celery tasks: thin and idempotent, taking ids; a module's tasks run on its own queue."""

from tasks import diagnostics, email, maintenance, order_jobs, orders, search  # noqa: F401
