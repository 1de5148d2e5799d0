"""Prometheus metrics at ``GET /metrics``: HTTP requests per endpoint, the business and task
metrics of every process (``services.observability.metrics``), and readings taken at scrape
time (queues, outbox, low stock, jobs: ``services.observability.gauges``).

Under gunicorn with several workers, and for Celery workers, set PROMETHEUS_MULTIPROC_DIR to
an empty directory shared by the processes of a host, so that every process's samples are
aggregated (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, g, request
from flask_smorest import abort
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from services.observability.gauges import ScrapeTimeGauges
from services.ops import schedules

REQUESTS = Counter(
    "bookstore_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "bookstore_http_request_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def observe_request(method: str, endpoint: str, status: int, started: float) -> None:
    """One answered request in the HTTP metrics (also counted by app.page_front)."""
    LATENCY.labels(method, endpoint).observe(time.perf_counter() - started)
    REQUESTS.labels(method, endpoint, status).inc()


def register_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        endpoint = request.endpoint or "unmatched"
        started = g.get("metrics_started")
        if started is not None and endpoint != "metrics":
            observe_request(request.method, endpoint, response.status_code, started)
        return response

    @app.get("/metrics", endpoint="metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN")
        sent = request.headers.get("Authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            abort(401, message="Send 'Authorization: Bearer $METRICS_TOKEN'.")
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            processes = CollectorRegistry()
            multiprocess.MultiProcessCollector(processes)
        else:
            processes = REGISTRY
        body = generate_latest(processes) + generate_latest(_scrape_time_registry(app))
        return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _scrape_time_registry(app: Flask) -> CollectorRegistry:
    """Built at the first scrape (the Celery app exists by then), kept for the next ones."""
    registry = app.extensions.get("scrape_time_metrics")
    if registry is None:
        from beat.schedule import BEAT_SCHEDULE
        from workers import QUEUES

        registry = CollectorRegistry(auto_describe=False)
        periods = {
            job: schedules.period_seconds(entry["schedule"]) for job, entry in BEAT_SCHEDULE.items()
        }
        gauges = ScrapeTimeGauges(
            app.extensions["celery"], QUEUES, app.config["METRICS_GAUGE_CACHE_SECONDS"], periods
        )
        registry.register(gauges)
        app.extensions["scrape_time_metrics"] = registry
    return registry
