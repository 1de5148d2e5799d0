"""``POST /checkout`` alone, under gunicorn as ``make bench`` runs it, beside the bare-Flask
ceiling measured in the same run (interleaved: ceiling, checkout, ceiling, checkout, ...).

    .venv/bin/python -m tests.bench.checkout_api

Many shoppers are registered first, each with a filled cart (written directly); wrk posts one
checkout per shopper (tests/bench/checkout.lua) over BENCH_CHECKOUT_CONNECTIONS connections for
BENCH_SECONDS. No worker runs: a checkout counts once it is accepted (202), its order and
outbox message are committed and the chain is published to RabbitMQ; afterwards the database
must hold exactly one order per 202 and every outbox message marked sent. The queues are
purged at the end. Writes var/bench/checkout_api.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess

from sqlalchemy import text

from app import create_app
from models import User, db
from tests.bench import checkout as bench  # sets the BENCH_* environment first
from tests.bench.__main__ import (
    ENV,
    GUNICORN_CLASS,
    GUNICORN_THREADS,
    GUNICORN_WORKERS,
    HERE,
    OUT_DIR,
    RUNS,
    SECONDS,
    free_port,
    gunicorn,
    wrk,
)
from tests.support.orders import checkout_body

CONNECTIONS = int(os.environ.get("BENCH_CHECKOUT_CONNECTIONS", "16"))
# Shoppers per run: more than the run can check out (past them, requests repeat one: 409s).
SHOPPERS = int(os.environ.get("BENCH_CHECKOUT_SHOPPERS", "1500"))
WRK_THREADS = 2


def checkout_run(base: str, tokens: list[str]) -> dict:
    token_file = OUT_DIR / "checkout_tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    result = subprocess.run(
        [
            *("wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{SECONDS}s"),
            *("--timeout", "5s", "-s", str(HERE / "checkout.lua"), base),
        ],
        env={
            **ENV,
            "BENCH_TOKENS": str(token_file),
            "BENCH_THREADS": str(WRK_THREADS),
            "BENCH_BODY": json.dumps(checkout_body()),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
    stats = json.loads(line.removeprefix("BENCH_JSON "))
    stats["rps"] = (stats["requests"] - stats["non_2xx"]) / stats["seconds"]
    return stats


def tokens_of(shoppers: list[dict]) -> list[str]:
    return [headers["Authorization"].removeprefix("Bearer ") for headers in shoppers]


def settled(app) -> dict:
    """What the database holds after the runs: orders, and outbox messages not marked sent."""
    with app.app_context():
        orders, unsent = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM orders), "
                "(SELECT count(*) FROM outbox WHERE kind = 'order_placed' AND sent_at IS NULL)"
            )
        ).one()
        db.session.commit()
    return {"orders": orders, "outbox_unsent": unsent}


def summary(runs: list[dict]) -> dict:
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p95_ms": statistics.median(r["p95_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "runs_rps": [round(r["rps"], 1) for r in runs],
        "runs_p95_ms": [round(r["p95_ms"], 1) for r in runs],
    }


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    # gunicorn gets the services the shoppers were written to (ENV holds make bench's catalog
    # database: checkouts there were all 401s, as their users do not exist).
    ENV.update(
        DATABASE_URL=bench.DATABASE_URL,
        REDIS_URL=bench.REDIS_URL,
        CELERY_RESULT_BACKEND=bench.REDIS_URL,
        CELERY_BROKER_URL=bench.BROKER_URL,
    )
    bench.recreate_database(bench.DATABASE_URL)
    app = create_app()
    celery_app = app.extensions["celery"]
    celery_app.control.purge()
    with app.app_context():
        book_ids = bench.seed_books()
        shoppers = [bench.seed_shoppers(SHOPPERS, book_ids) for _ in range(RUNS + 1)]
        db.session.query(User).count()  # the pool is warm before the clock starts
    ceiling_runs, checkout_runs = [], []
    with (
        gunicorn("tests.bench.ceiling:app", free_port()) as ceiling_base,
        gunicorn("wsgi:app", free_port()) as base,
    ):
        # Warm up: every gunicorn process has its pools and prepared statements.
        checkout_run(base, tokens_of(shoppers[0])[:200])
        for n in range(RUNS):
            ceiling_runs.append(wrk(ceiling_base, ["/items"], CONNECTIONS))
            checkout_runs.append(checkout_run(base, tokens_of(shoppers[n + 1])))
    accepted = sum(r["requests"] - r["non_2xx"] for r in checkout_runs) + 200
    held = settled(app)
    celery_app.control.purge()
    ceiling, checkout = summary(ceiling_runs), summary(checkout_runs)
    report = {
        "gunicorn": f"{GUNICORN_WORKERS} {GUNICORN_CLASS} x {GUNICORN_THREADS} threads",
        "connections": CONNECTIONS,
        "seconds_per_run": SECONDS,
        "ceiling_bare_flask": ceiling,
        "checkout": checkout,
        "checkout_of_ceiling": checkout["rps"] / ceiling["rps"],
        # 202s counted by wrk (a wrk timeout may still commit: then orders exceed this count).
        "accepted_202": accepted,
        "database": held,
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    (OUT_DIR / "checkout_api.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if held["orders"] == 0:
        raise SystemExit("no checkout was accepted: the figures above measure refusals")


if __name__ == "__main__":
    main()
