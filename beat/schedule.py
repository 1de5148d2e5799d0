"""The periodic jobs (SPEC section 6) as data: name -> task, schedule, queue."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "tasks.maintenance.heartbeat",
        "schedule": 60.0,
        "options": {"queue": "maintenance", "expires": 55},
    },
    # Emails whose enqueue was lost (broker down at the time) are enqueued again.
    "requeue-unsent-email": {
        "task": "tasks.email.requeue_unsent",
        "schedule": 120.0,
        "options": {"queue": "email", "expires": 110},
    },
}

__all__ = ["BEAT_SCHEDULE", "crontab"]
