"""``make load``: the holiday spike. Locust (headless) ramps a mixed load on gunicorn and the
workers of `make run` until p95 passes 100 ms; reports the knee and draws the pictures.

    .venv/bin/python -m tests.bench.load

80 % browse, 15 % search, 5 % cart + checkout by registered shoppers (tests/bench/holiday.py),
on the real 10,000-book catalog in BENCH_DATABASE_URL's server (database
``<name>_load``), the broker and Redis of the BENCH_* URLs. While it runs, the queue depth and
the confirmed orders are sampled every second. Writes var/bench/load.md, load.json and
load_throughput.png, load_latency.png, load_queue_depth.png, load_orders_confirmed.png.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

BASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bookstore_bench"
)
DATABASE_URL = make_url(BASE_URL).set(database=f"{make_url(BASE_URL).database}_load")
DATABASE_URL = DATABASE_URL.render_as_string(hide_password=False)
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    LOG_LEVEL="WARNING",
    RATELIMIT_ENABLED="false",
    SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
)
os.environ["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
if not os.environ.get("PII_KEYS"):  # one per run: the load's database is made afresh
    from models import encryption

    os.environ["PII_KEYS"] = encryption.new_key_entry("load1")
if Path("/work/shared/datasets/goodbooks").is_dir():
    os.environ.setdefault("CATALOG_DATASET_DIR", "/work/shared/datasets/goodbooks")

from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth import access_token_for  # noqa: E402
from config.settings import ROOT, VAR_DIR  # noqa: E402
from models import User, db  # noqa: E402
from tests.bench.sampling import Sampler  # noqa: E402
from tests.support.database import recreate_database  # noqa: E402
from tests.support.orders import checkout_body  # noqa: E402
from tests.support.workers import LayoutWorkers  # noqa: E402

OUT = VAR_DIR / "bench"
SHOPPERS = int(os.environ.get("LOAD_SHOPPERS", "3000"))
P95_LIMIT_MS = 100.0
QUEUES = ("orders", "payments", "email", "search")
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def prepare(app) -> Path:
    recreate_database(DATABASE_URL)
    subprocess.run([*FLASK, "catalog", "import"], cwd=ROOT, check=True)
    subprocess.run([*FLASK, "search", "reindex"], cwd=ROOT, check=True)
    with app.app_context():
        users = [
            User(email=f"load-{uuid.uuid4().hex[:12]}@example.com", password_hash="-", name="L")
            for _ in range(SHOPPERS)
        ]
        db.session.add_all(users)
        db.session.commit()
        tokens = [access_token_for(user) for user in users]
        genres = db.session.execute(text("SELECT slug FROM genres ORDER BY slug")).scalars().all()
        books = (
            db.session.execute(
                text(
                    "SELECT b.id FROM books b JOIN stock s ON s.book_id = b.id "
                    "WHERE s.on_hand - s.reserved >= 20 ORDER BY b.id LIMIT 2000"
                )
            )
            .scalars()
            .all()
        )
        titles = db.session.execute(text("SELECT title FROM books LIMIT 500")).scalars().all()
        db.session.commit()
    words = sorted({word for title in titles for word in title.split()[:2] if word.isalpha()})
    fixture = {
        "genres": genres[:40],
        "books": [str(book) for book in books],
        "words": words[:300],
        "tokens": tokens,
        "checkout_body": checkout_body(),
    }
    path = OUT / "load_fixture.json"
    path.write_text(json.dumps(fixture))
    return path


def run_locust(base: str, fixture: Path) -> Path:
    prefix = OUT / "load"
    subprocess.run(
        [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / "tests/bench/holiday.py")],
            *["--headless", "--host", base, "--csv", str(prefix), "--csv-full-history"],
            "--only-summary",
            *["--loglevel", "WARNING"],
        ],
        cwd=ROOT,
        env={**os.environ, "LOAD_FIXTURE": str(fixture)},
        check=False,  # locust exits 1 when any request failed: the report says how many
    )
    return Path(f"{prefix}_stats_history.csv")


def steps_from(history: Path) -> tuple[list[dict], list[dict]]:
    """Per-second aggregated rows, and per user-count step: median req/s and p50/p95 over the
    second half of the step (the first half is the ramp settling)."""
    rows = []
    with history.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated" or row["95%"] in ("N/A", ""):
                continue
            rows.append(
                {
                    "t": int(row["Timestamp"]),
                    "users": int(row["User Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": float(row["50%"]),
                    "p95": float(row["95%"]),
                    "failures": int(row["Total Failure Count"]),
                }
            )
    start = rows[0]["t"] if rows else 0
    for row in rows:
        row["t"] -= start
    steps = []
    for users in sorted({row["users"] for row in rows}):
        at = [row for row in rows if row["users"] == users]
        tail = at[len(at) // 2 :] or at
        steps.append(
            {
                "users": users,
                "rps": statistics.median(r["rps"] for r in tail),
                "p50_ms": statistics.median(r["p50"] for r in tail),
                "p95_ms": statistics.median(r["p95"] for r in tail),
                "new_failures": tail[-1]["failures"] - at[0]["failures"],
            }
        )
    return rows, steps


def plot(rows: list[dict], samples: list, knee: dict | None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(OUT / name, dpi=110)
        plt.close(fig)
        names.append(name)

    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, [r["rps"] for r in rows], label="requests/s")
    ax2 = ax.twinx()
    ax2.plot(t, [r["users"] for r in rows], color="grey", linestyle=":", label="users")
    ax.set_xlabel("seconds")
    ax.set_ylabel("requests/s")
    ax2.set_ylabel("users")
    if knee:
        ax.axhline(knee["rps"], color="green", linestyle="--", label="knee")
    ax.set_title("Holiday load: throughput")
    ax.legend(loc="upper left")
    save(fig, "load_throughput.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, [r["p50"] for r in rows], label="p50")
    ax.plot(t, [r["p95"] for r in rows], label="p95")
    ax.axhline(P95_LIMIT_MS, color="red", linestyle="--", label="100 ms")
    ax.set_xlabel("seconds")
    ax.set_ylabel("ms")
    ax.set_title("Holiday load: latency (all requests)")
    ax.legend(loc="upper left")
    save(fig, "load_latency.png")

    st = [s[0] for s in samples]
    fig, ax = plt.subplots(figsize=(9, 4))
    for queue in QUEUES:
        ax.plot(st, [s[1][queue] for s in samples], label=queue)
    ax.set_xlabel("seconds")
    ax.set_ylabel("messages ready")
    ax.set_title("Holiday load: queue depth")
    ax.legend(loc="upper left")
    save(fig, "load_queue_depth.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(st, [s[2] for s in samples])
    ax.set_xlabel("seconds")
    ax.set_ylabel("orders confirmed (cumulative)")
    ax.set_title("Holiday load: orders confirmed")
    save(fig, "load_orders_confirmed.png")
    return names


def main() -> None:
    from tests.bench import __main__ as bench

    # gunicorn with this run's database and services, not the catalog benchmark's
    bench.ENV.update(
        {
            name: os.environ[name]
            for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY")
        }
    )
    bench.ENV["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
    free_port, gunicorn = bench.free_port, bench.gunicorn

    OUT.mkdir(parents=True, exist_ok=True)
    app = create_app()
    app.extensions["celery"].control.purge()
    fixture = prepare(app)
    workers = LayoutWorkers(app.extensions["celery"], app.config, name="load")
    workers.start()
    sampler = Sampler(app)
    try:
        with gunicorn("wsgi:app", free_port()) as base:
            if not json.loads(fixture.read_text())["books"]:
                raise SystemExit("no book in stock to buy: the fixture is empty")
            sampler.start()
            history = run_locust(base, fixture)
            time.sleep(5)  # the orders still in flight
    finally:
        sampler.done.set()
        workers.stop()
    rows, steps = steps_from(history)
    good = [s for s in steps if s["p95_ms"] <= P95_LIMIT_MS and s["new_failures"] == 0]
    knee = max(good, key=lambda s: s["rps"]) if good else None
    pictures = plot(rows, sampler.rows, knee)
    report = {"steps": steps, "knee": knee, "pictures": pictures}
    (OUT / "load.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# Holiday load (make load)",
        "",
        "80 % browse, 15 % search, 5 % cart + checkout by registered shoppers; gunicorn "
        f"{os.environ.get('WEB_CONCURRENCY', '2')} workers and the `make run` worker layout; "
        "everything (Locust too) on this one machine.",
        "",
        (
            f"**Knee**: {knee['rps']:.0f} requests/s at {knee['users']} users "
            f"(p50 {knee['p50_ms']:.0f} ms, p95 {knee['p95_ms']:.0f} ms, no errors)."
            if knee
            else "**Knee**: none: p95 was above 100 ms from the first step."
        ),
        "",
        "| users | req/s | p50 ms | p95 ms | new failures |",
        "|---|---|---|---|---|",
        *(
            f"| {s['users']} | {s['rps']:.0f} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
            f"{s['new_failures']} |"
            for s in steps
        ),
        "",
        *(f"![{name}]({name})" for name in pictures),
    ]
    (OUT / "load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
