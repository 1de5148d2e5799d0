"""Checkout end to end on one worker: time from POST /checkout to ``confirmed`` (median, p95)
and the confirmed orders per second one worker sustains.

    .venv/bin/python -m tests.bench.checkout

Runs on the local PostgreSQL/RabbitMQ/Redis (BENCH_* URLs), with the API in process (Flask
test client) and real workers: by default the layout `make run` starts (BENCH_LAYOUT=run:
run.py's own worker commands, WORKER_* settings), or one prefork worker serving every queue
(BENCH_LAYOUT=single, concurrency BENCH_WORKER_CONCURRENCY).
Times come from the database: the order's ``created_at`` (set when POST /checkout starts)
and the ``confirm_order`` step's ``finished_at``. Prints a small report (and writes
var/bench/checkout.json).
"""

from __future__ import annotations

import os
import secrets

from models import encryption

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bookstore_bench_checkout"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
LATENCY_ORDERS = int(os.environ.get("BENCH_ORDERS", "200"))
LATENCY_RATE = float(os.environ.get("BENCH_LATENCY_RATE", "20"))  # orders per second
THROUGHPUT_ORDERS = int(os.environ.get("BENCH_THROUGHPUT_ORDERS", "600"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
# BENCH_LOG_LEVEL=INFO (with LOG_FORMAT=json and OTEL_* set) measures logging and tracing on.
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
# "run": the workers of `make run` (prefork for database steps, thread pools for payments and
# for email/search/notifications); "single": one prefork worker serving every queue.
LAYOUT = os.environ.get("BENCH_LAYOUT", "run")
CEILING_TASKS = int(os.environ.get("BENCH_CEILING_TASKS", "2000"))

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=BROKER_URL,
    REDIS_URL=REDIS_URL,
    CELERY_RESULT_BACKEND=REDIS_URL,
    LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    DATABASE_POOL_SIZE=str(THREADS + 2),
    # Real services are configured, so the app needs a secret: one per benchmark run.
    SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
    # ... and PII keys: one per run too (the benchmark's database is made afresh).
    PII_KEYS=os.environ.get("PII_KEYS") or encryption.new_key_entry("bench1"),
    # tasks.diagnostics.echo: the trivial task of the ceiling.
    ENABLE_DIAGNOSTIC_TASKS="true",
)

import json  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from celery.result import ResultSet  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth import access_token_for  # noqa: E402
from config.settings import VAR_DIR  # noqa: E402
from models import Book, Cart, CartItem, Stock, StockMovement, User, Warehouse, db  # noqa: E402
from tests.support.database import recreate_database  # noqa: E402
from tests.support.orders import checkout_body  # noqa: E402
from tests.support.workers import LayoutWorkers, WorkerProcess  # noqa: E402

# Books the shoppers' carts draw from (few books: every order updates the same hot rows).
BOOKS = int(os.environ.get("BENCH_BOOKS", "20"))


def seed_books() -> list[uuid.UUID]:
    warehouse = db.session.query(Warehouse).filter_by(is_default=True).one()
    books = [Book(title=f"Bench book {n}", price_cents=1000 + n) for n in range(BOOKS)]
    db.session.add_all(books)
    db.session.flush()
    for book in books:
        db.session.add(Stock(book_id=book.id, warehouse_id=warehouse.id, on_hand=1_000_000))
        db.session.add(
            StockMovement(
                book_id=book.id,
                warehouse_id=warehouse.id,
                delta_on_hand=1_000_000,
                reason="import",
            )
        )
    db.session.commit()
    return [book.id for book in books]


def seed_shoppers(count: int, book_ids: list[uuid.UUID]) -> list[dict]:
    """Users with a filled cart each (written directly: the API is not what is measured)."""
    users = [
        User(email=f"bench-{uuid.uuid4().hex[:12]}@example.com", password_hash="-", name="Bench")
        for _ in range(count)
    ]
    db.session.add_all(users)
    db.session.flush()
    expires = datetime.now(UTC) + timedelta(days=1)
    for index, user in enumerate(users):
        cart = Cart(user_id=user.id, expires_at=expires)
        cart.items = [
            CartItem(book_id=book_ids[(index + k) % BOOKS], quantity=1 + k) for k in range(2)
        ]
        db.session.add(cart)
    db.session.commit()
    return [{"Authorization": f"Bearer {access_token_for(user)}"} for user in users]


def place(client, headers) -> tuple[str, float]:
    started = time.perf_counter()
    response = client.post("/api/v1/checkout", json=checkout_body(), headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"], time.perf_counter() - started


def wait_confirmed(app, order_ids: list[str], timeout: float) -> None:
    with app.app_context():
        _wait_confirmed(order_ids, timeout)


def _wait_confirmed(order_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = db.session.execute(
            text("SELECT count(*) FROM orders WHERE id = ANY(:ids) AND status <> 'pending'"),
            {"ids": [uuid.UUID(i) for i in order_ids]},
        ).scalar()
        db.session.commit()
        if done == len(order_ids):
            return
        time.sleep(0.2)
    raise TimeoutError(f"only {done} of {len(order_ids)} orders settled")


def wait_all_steps_done(app, order_ids: list[str], timeout: float) -> None:
    """Until every step of every order has finished (succeeded, failed or skipped): an order
    counts as processed only when its last step is done, not when ``confirm_order`` is."""
    ids = [uuid.UUID(i) for i in order_ids]
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            open_orders = db.session.execute(
                text(
                    "SELECT count(DISTINCT order_id) FROM order_steps "
                    "WHERE order_id = ANY(:ids) AND status IN ('pending', 'running')"
                ),
                {"ids": ids},
            ).scalar()
            db.session.commit()
            if open_orders == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{open_orders} of {len(ids)} orders still have open steps")
            time.sleep(0.2)


def timings(app, order_ids: list[str]) -> list[tuple[datetime, datetime, str]]:
    with app.app_context():
        return _timings(order_ids)


def _timings(order_ids: list[str]) -> list[tuple[datetime, datetime, str]]:
    rows = db.session.execute(
        text(
            "SELECT o.created_at, s.finished_at, o.status FROM orders o "
            "JOIN order_steps s ON s.order_id = o.id AND s.step = 'confirm_order' "
            "WHERE o.id = ANY(:ids)"
        ),
        {"ids": [uuid.UUID(i) for i in order_ids]},
    ).all()
    db.session.commit()
    return [tuple(row) for row in rows]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_phase(app, shoppers: list[dict]) -> dict:
    client = app.test_client()
    order_ids, answers = [], []
    interval = 1.0 / LATENCY_RATE
    for headers in shoppers:
        started = time.perf_counter()
        order_id, seconds = place(client, headers)
        order_ids.append(order_id)
        answers.append(seconds)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    wait_confirmed(app, order_ids, timeout=120)
    rows = timings(app, order_ids)
    confirmed = [(finished - created).total_seconds() for created, finished, status in rows]
    assert all(status == "confirmed" for _, _, status in rows)
    return {
        "orders": len(order_ids),
        "rate_per_second": LATENCY_RATE,
        "checkout_202_ms": {
            "median": statistics.median(answers) * 1000,
            "p95": percentile(answers, 0.95) * 1000,
        },
        "checkout_to_confirmed_ms": {
            "median": statistics.median(confirmed) * 1000,
            "p95": percentile(confirmed, 0.95) * 1000,
            "max": max(confirmed) * 1000,
        },
    }


def ceiling_phase(app) -> dict:
    """The trivial-task ceiling of the same broker, worker and concurrency: CEILING_TASKS
    echo tasks published and run, end to end."""
    celery_app = app.extensions["celery"]
    echo = celery_app.signature("tasks.diagnostics.echo", args=({}, "ceiling"))
    started = time.perf_counter()
    results = ResultSet([echo.clone().apply_async() for _ in range(CEILING_TASKS)])
    results.join_native(timeout=300)
    seconds = time.perf_counter() - started
    return {"tasks": CEILING_TASKS, "tasks_per_second": CEILING_TASKS / seconds}


def throughput_phase(app, shoppers: list[dict], worker) -> dict:
    """Orders are placed while the worker is stopped, then one worker drains them: its rate
    is not limited by the in-process API sharing the CPU with it."""
    worker.stop()
    order_ids: list[str] = []
    lock = threading.Lock()
    chunks = [shoppers[n::THREADS] for n in range(THREADS)]

    def run(chunk):
        client = app.test_client()
        for headers in chunk:
            order_id, _ = place(client, headers)
            with lock:
                order_ids.append(order_id)

    started, cpu_started = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    api_seconds = time.perf_counter() - started
    api_cpu = time.process_time() - cpu_started
    worker.start()
    cpu_at_start = worker.cpu_seconds()
    wait_confirmed(app, order_ids, timeout=600)
    wait_all_steps_done(app, order_ids, timeout=600)
    worker_cpu = worker.cpu_seconds() - cpu_at_start
    with app.app_context():
        first, confirmed, settled = db.session.execute(
            text(
                "SELECT min(started_at) FILTER (WHERE step = 'reserve_stock'), "
                "max(finished_at) FILTER (WHERE step = 'confirm_order'), max(finished_at) "
                "FROM order_steps WHERE order_id = ANY(:ids)"
            ),
            {"ids": [uuid.UUID(i) for i in order_ids]},
        ).one()
    return {
        "orders": len(order_ids),
        "api_threads": THREADS,
        "api_checkouts_per_second_in_process": len(order_ids) / api_seconds,
        "api_cpu_ms_per_checkout": api_cpu * 1000 / len(order_ids),
        "worker_confirmed_per_second": len(order_ids) / (confirmed - first).total_seconds(),
        "worker_all_steps_done_per_second": len(order_ids) / (settled - first).total_seconds(),
        # Includes the workers' idle housekeeping while they drain (small next to the orders).
        "worker_cpu_ms_per_order": worker_cpu * 1000 / len(order_ids),
    }


def main() -> None:
    recreate_database(DATABASE_URL)
    app = create_app()
    celery_app = app.extensions["celery"]
    celery_app.control.purge()
    if LAYOUT == "run":
        worker = LayoutWorkers(celery_app, {**app.config, "WORKER_CONCURRENCY": CONCURRENCY})
    else:
        worker = WorkerProcess(celery_app, name="bench", concurrency=CONCURRENCY)
    with app.app_context():
        book_ids = seed_books()
        latency_shoppers = seed_shoppers(LATENCY_ORDERS, book_ids)
        throughput_shoppers = seed_shoppers(THROUGHPUT_ORDERS, book_ids)
    worker.start()
    try:
        # Requests run without an outer app context: each gets its own (and its own session).
        report = {
            "worker_concurrency": CONCURRENCY,
            "layout": LAYOUT,
            "latency": latency_phase(app, latency_shoppers),
            "ceiling": ceiling_phase(app),
            "throughput": throughput_phase(app, throughput_shoppers, worker),
        }
        all_steps = report["throughput"]["worker_all_steps_done_per_second"]
        report["all_steps_done_of_ceiling"] = all_steps / report["ceiling"]["tasks_per_second"]
    finally:
        worker.stop()
    out = VAR_DIR / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkout.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
