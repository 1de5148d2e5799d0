"""The Celery application bound to Flask: queues, routes and the task base class."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from kombu import Exchange, Queue

from models import db

QUEUES = (
    "orders",
    "payments",
    "email",
    "search",
    "maintenance",
    "default",
    "shipping",  # carrier events, stale-shipment poll, simulated carrier
    "notifications",  # notification dispatcher and channel deliveries
    "analytics",  # domain events to the events exchange, sales roll-up
)

# Task module -> queue. A flow's steps live in the module named after their queue.
TASK_ROUTES = {f"tasks.{name}.*": {"queue": name} for name in QUEUES if name != "default"}


def celery_config(app: Flask) -> dict:
    from beat.schedule import BEAT_SCHEDULE

    exchange = Exchange("bookstore", type="direct", durable=True)
    return {
        "broker_url": app.config["CELERY_BROKER_URL"],
        "result_backend": app.config["CELERY_RESULT_BACKEND"],
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_queues": [Queue(name, exchange, routing_key=name, durable=True) for name in QUEUES],
        "task_default_queue": "default",
        "task_default_exchange": "bookstore",
        "task_default_routing_key": "default",
        "task_routes": TASK_ROUTES,
        # A task is acknowledged only once it finished; a killed worker's task is redelivered.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Steps can be long (payment, email): one message at a time by default; the
        # database-bound worker of `make run` (short steps) takes more (--prefetch-multiplier
        # from WORKER_PREFETCH_MULTIPLIER).
        "worker_prefetch_multiplier": 1,
        # Flower reads the workers' events (received, succeeded, failed: `--events`); nobody
        # reads "sent" events or the STARTED state, each a broker or Redis write per task.
        "worker_send_task_events": True,
        "task_send_sent_event": False,
        "task_track_started": False,
        "result_expires": 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": 3600},
        "beat_schedule": BEAT_SCHEDULE,
        "search_reindex_debounce_seconds": app.config["SEARCH_REINDEX_DEBOUNCE_SECONDS"],
    }


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        """Runs every task inside the Flask app context; the session is removed after."""

        def __call__(self, *args, **kwargs):
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(app))
    celery_app.set_default()
    import tasks  # registers every @shared_task on this app
    from workers import task_signals  # noqa: F401  (log context and metrics of every task)

    if app.config.get("ENABLE_DIAGNOSTIC_TASKS"):
        import tasks.diagnostics  # noqa: F401  (tests and debugging only, never production)

    app.extensions["celery"] = celery_app
    return celery_app
