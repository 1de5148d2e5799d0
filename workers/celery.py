"""Entry point for ``celery -A workers.celery worker|beat`` and Flower."""

import os

from celery.signals import worker_init, worker_process_init

from app import create_app
from models import db
from services.observability import tracing
from workers import (
    failed_tasks,  # noqa: F401  (connects the task_failure handler)
    metrics_server,  # noqa: F401  (a worker's /metrics, WORKER_METRICS_PORT)
    prompt_acks,
)

# Traces from these processes are the workers' (and beat's, Flower's), not the API's.
os.environ.setdefault("OTEL_SERVICE_NAME", "bookstore-celery")
flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_init.connect
def _acknowledge_promptly(**_) -> None:
    # Late acks leave at once instead of at the event loop's next timer (workers/prompt_acks).
    prompt_acks.install()


@worker_process_init.connect
def _fresh_connections_after_fork(**_) -> None:
    # A forked pool process must not reuse the parent's pooled database connections.
    db.dispose_engines()
    if tracing.enabled():
        tracing.configure_provider("bookstore-celery")
        tracing.instrument_celery()
        tracing.instrument_engines(db.engines())
