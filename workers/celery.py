"""Entry point for ``celery -A workers.celery worker|beat`` and Flower."""

from celery.signals import worker_process_init

from app import create_app
from models import db
from workers import (
    failed_tasks,  # noqa: F401  (connects the task_failure handler)
    metrics_server,  # noqa: F401  (a worker's /metrics, WORKER_METRICS_PORT)
)

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_) -> None:
    # A forked pool process must not reuse the parent's pooled database connections.
    db.dispose_engines()
