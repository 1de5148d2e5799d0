"""A worker's own ``/metrics`` (Prometheus scrapes each worker host): with
WORKER_METRICS_PORT set, the worker's main process serves the samples its pool processes
wrote to PROMETHEUS_MULTIPROC_DIR. Queue, outbox and job readings come from the API's
``/metrics`` only (one reading per cluster, not one per worker)."""

from __future__ import annotations

import logging
import os

from celery.signals import worker_init, worker_process_shutdown
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

log = logging.getLogger(__name__)


@worker_init.connect
def _serve_metrics(**_) -> None:
    port = os.environ.get("WORKER_METRICS_PORT")
    if not port:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        log.warning("WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (prefork pool); not served")
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(
        int(port), addr=os.environ.get("WORKER_METRICS_ADDRESS", "0.0.0.0"), registry=registry
    )
    log.info("worker metrics on :%s/metrics", port)


@worker_process_shutdown.connect
def _forget_dead_process(pid=None, **_) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid:
        multiprocess.mark_process_dead(pid)
