"""Where the milliseconds of one order and of one cached page go (cProfile).

    .venv/bin/python -m tests.bench.profile_order

Orders: BENCH_PROFILE_ORDERS orders are placed with no worker running, then one real
``celery worker --pool solo`` (so every task runs in the profiled process) drains them under
cProfile, with the same settings as the checkout benchmark. Cached page: the Flask app in
process answers ``GET /api/v1/books`` from the cache BENCH_PROFILE_PAGES times under
cProfile. Each profile is summarised by package (self time per order / per request) in
var/bench/profile.md; the raw ``.prof`` files sit beside it (snakeviz or pstats read them).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from app import create_app
from config.settings import ROOT, VAR_DIR
from tests.bench import checkout
from tests.bench.checkout import place, seed_books, seed_shoppers, wait_all_steps_done
from tests.support.database import recreate_database

ORDERS = int(os.environ.get("BENCH_PROFILE_ORDERS", "100"))
PAGES = int(os.environ.get("BENCH_PROFILE_PAGES", "2000"))
OUT = VAR_DIR / "bench"

# Which part of the stack a profiled frame belongs to, by its file path.
BUCKETS = (
    ("celery/", "celery (worker, canvas, signals)"),
    ("kombu/", "kombu + amqp (broker client)"),
    ("amqp/", "kombu + amqp (broker client)"),
    ("vine/", "kombu + amqp (broker client)"),
    ("billiard/", "celery (worker, canvas, signals)"),
    ("sqlalchemy/", "SQLAlchemy (ORM, core)"),
    ("psycopg", "psycopg + socket waits on PostgreSQL"),
    ("redis/", "redis client"),
    ("flask/", "flask + werkzeug"),
    ("werkzeug/", "flask + werkzeug"),
    ("flask_", "flask extensions (limiter, caching, smorest)"),
    ("marshmallow", "marshmallow"),
    ("prometheus_client", "prometheus metrics"),
    ("opentelemetry", "tracing"),
    ("logging/", "logging"),
    ("json/", "json"),
    ("/services/", "our services/"),
    ("/tasks/", "our tasks/ and workers/"),
    ("/workers/", "our tasks/ and workers/"),
    ("/app/", "our app/"),
    ("/models/", "our models/"),
)


def bucket(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C calls: socket, select, hashing, ...)"
    for needle, name in BUCKETS:
        if needle in filename:
            return name
    return "other (stdlib, other libraries)"


def summarise(profile_path: Path, per: int, unit: str) -> list[str]:
    stats = pstats.Stats(str(profile_path))
    by_bucket: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_bucket[bucket(filename)] += tottime
        total += tottime
    lines = [
        f"| part of the stack (self time) | ms per {unit} | share |",
        "|---|---|---|",
    ]
    for name, seconds in sorted(by_bucket.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {seconds * 1000 / per:.2f} | {seconds / total:.0%} |")
    lines.append(f"| **total** | **{total * 1000 / per:.2f}** | |")
    lines += ["", f"Top functions by cumulative time (ms per {unit}):", "", "```"]
    ranked = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])
    shown = 0
    for (filename, line, name), (_, calls, _, cumtime, _) in ranked:
        if "site-packages" in filename and not any(
            key in filename for key in ("celery/app/trace", "sqlalchemy/orm/session")
        ):
            continue
        lines.append(
            f"{cumtime * 1000 / per:8.2f}  {calls / per:6.1f} calls  "
            f"{Path(filename).name}:{line} {name}"
        )
        shown += 1
        if shown == 25:
            break
    lines.append("```")
    return lines


def profile_orders() -> list[str]:
    recreate_database(checkout.DATABASE_URL)
    app = create_app()
    app.extensions["celery"].control.purge()
    with app.app_context():
        book_ids = seed_books()
        shoppers = seed_shoppers(ORDERS, book_ids)
    client = app.test_client()
    order_ids = [place(client, headers)[0] for headers in shoppers]
    profile_path = OUT / "worker.prof"
    worker = subprocess.Popen(
        [
            *[sys.executable, "-m", "cProfile", "-o", str(profile_path)],
            *["-m", "celery", "-A", "workers.celery", "worker", "--pool", "solo"],
            *["--loglevel", "WARNING", "--without-mingle", "--without-gossip"],
            *["--hostname", f"profile-{os.getpid()}@%h"],
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    started = time.perf_counter()
    try:
        wait_all_steps_done(app, order_ids, timeout=600)
    finally:
        drained = time.perf_counter() - started
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    header = [
        f"### One order through the worker ({ORDERS} orders, `--pool solo`, "
        f"drained in {drained:.1f} s including the worker's start)",
        "",
    ]
    return header + summarise(profile_path, ORDERS, "order")


def profile_cached_page() -> list[str]:
    app = create_app()
    client = app.test_client()
    assert client.get("/api/v1/books").status_code == 200  # fills the cache
    profile_path = OUT / "cached_page.prof"
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(PAGES):
        client.get("/api/v1/books")
    profiler.disable()
    seconds = time.perf_counter() - started
    profiler.dump_stats(str(profile_path))
    header = [
        f"### One cached page in process (`GET /api/v1/books`, {PAGES} requests, "
        f"{seconds * 1000 / PAGES:.2f} ms each under the profiler)",
        "",
    ]
    return header + summarise(profile_path, PAGES, "request")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Profiles", ""]
    lines += [*profile_orders(), ""]
    lines += [*profile_cached_page(), ""]
    (OUT / "profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
