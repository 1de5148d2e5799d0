"""Prometheus metrics at ``GET /metrics``: request counts and latencies per endpoint.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory so
that every worker's samples are aggregated (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, g, request
from flask_smorest import abort
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "bookstore_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "bookstore_http_request_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def register_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        endpoint = request.endpoint or "unmatched"
        started = g.get("metrics_started")
        if started is not None and endpoint != "metrics":
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        return response

    @app.get("/metrics", endpoint="metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN")
        sent = request.headers.get("Authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            abort(401, message="Send 'Authorization: Bearer $METRICS_TOKEN'.")
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
