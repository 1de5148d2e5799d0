"""The business and task metrics (``bookstore_*``), shared by the API, workers and beat.

Counters and histograms are plain prometheus-client objects: with PROMETHEUS_MULTIPROC_DIR
set (gunicorn, prefork workers) each process writes its samples to that folder and the
API's ``/metrics`` adds them up. Readings that need a query (queues, outbox, low stock,
jobs) are not kept here: ``services.observability.gauges`` computes them at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ORDERS = Counter("bookstore_orders_total", "Orders by final outcome", ["status"])
CHECKOUT_TO_CONFIRMED = Histogram(
    "bookstore_checkout_to_confirmed_seconds",
    "From the order being placed to its confirmation",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
ORDER_STEP_SECONDS = Histogram(
    "bookstore_order_step_seconds",
    "Run time of one order placement step (one task run)",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDER_STEP_FAILURES = Counter(
    "bookstore_order_step_failures_total",
    "Order step runs that raised (retried or failed for good)",
    ["step", "error"],
)
TASKS = Counter(
    "bookstore_tasks_total",
    "Task runs by outcome: success, retry, failure, domain_stop",
    ["task", "queue", "outcome"],
)
TASK_SECONDS = Histogram(
    "bookstore_task_seconds",
    "Task run time",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STOCK_RESERVATION_REJECTIONS = Counter(
    "bookstore_stock_reservation_rejections_total",
    "Orders rejected because a book was short of stock",
)
PAYMENT_DECLINES = Counter(
    "bookstore_payment_declines_total", "Payments declined by the provider", ["code"]
)
CACHE_REQUESTS = Counter(
    "bookstore_cache_requests_total", "Cache lookups by result (hit, miss)", ["cache", "result"]
)
JOB_RUNS = Counter("bookstore_job_runs_total", "Scheduled job runs by outcome", ["job", "outcome"])
