"""The periodic jobs (SPEC section 6) as data: name -> task, schedule, queue."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "tasks.maintenance.heartbeat",
        "schedule": 60.0,
        "options": {"queue": "maintenance", "expires": 55},
    },
    # --- orders area (h5) ---
    "expire-carts": {
        "task": "tasks.maintenance.expire_carts",
        "schedule": 15 * 60.0,
        "options": {"queue": "maintenance", "expires": 14 * 60},
    },
    "expire-unpaid-orders": {
        "task": "tasks.maintenance.expire_unpaid_orders",
        "schedule": 5 * 60.0,
        "options": {"queue": "maintenance", "expires": 4 * 60},
    },
    "outbox-relay": {
        "task": "tasks.maintenance.relay_outbox",
        "schedule": 5.0,
        "options": {"queue": "maintenance", "expires": 5},
    },
}

__all__ = ["BEAT_SCHEDULE", "crontab"]
