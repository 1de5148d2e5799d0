"""What each placement step costs in process, without Celery: CPU, statements and Python calls.

    .venv/bin/python -m tests.bench.step_cost [orders]

Places the orders with no worker running (the chain's messages are purged), then runs every
step of each order in chain order, as the tasks run them (``tests.support.orders
.placement_steps``, a fresh session per step), on BENCH_DATABASE_URL. Prints per step: CPU ms
(``time.process_time``), wall ms, statements and, with BENCH_STEP_CALLS=1, Python function
calls per order under cProfile. CPU time on this shared 2-core machine moves by 10-20 % from
run to run; the call count does not, so it is the figure to compare small changes with.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
import uuid
from collections import Counter

from sqlalchemy import event

from app import create_app
from models import db
from tests.bench import checkout
from tests.support.database import recreate_database
from tests.support.orders import placement_steps

COUNT_CALLS = os.environ.get("BENCH_STEP_CALLS") == "1"


def main(orders: int) -> None:
    recreate_database(checkout.DATABASE_URL)
    app = create_app()
    celery = app.extensions["celery"]
    celery.control.purge()
    with app.app_context():
        book_ids = checkout.seed_books()
        shoppers = checkout.seed_shoppers(orders, book_ids)
    client = app.test_client()
    order_ids = [uuid.UUID(checkout.place(client, headers)[0]) for headers in shoppers]
    celery.control.purge()  # the steps run here, not on a worker
    cpu, wall, statements, calls = Counter(), Counter(), Counter(), Counter()
    current = {"step": None}

    def count(*_):
        if current["step"]:
            statements[current["step"]] += 1

    with app.app_context():
        bind = db.session.get_bind()
        engine = getattr(bind, "engine", bind)
        event.listen(engine, "before_cursor_execute", count)
        steps = placement_steps()
        for order_id in order_ids:
            for name, step in steps.items():
                db.session.remove()
                current["step"] = name
                profiler = cProfile.Profile() if COUNT_CALLS else None
                cpu_started, wall_started = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                result = step(order_id)
                if profiler:
                    profiler.disable()
                cpu[name] += time.process_time() - cpu_started
                wall[name] += time.perf_counter() - wall_started
                if profiler:
                    calls[name] += pstats.Stats(profiler).total_calls
                current["step"] = None
                assert result.outcome.value == "continue", (name, result)
        db.session.remove()
        event.remove(engine, "before_cursor_execute", count)
    print(f"{orders} orders, per order:")
    print(f"{'step':18} {'CPU ms':>8} {'wall ms':>8} {'statements':>10} {'Python calls':>12}")
    for name in [*steps, None]:
        label = name or "all steps"

        def per(counter, name=name):
            return (counter[name] if name else sum(counter.values())) / orders

        print(
            f"{label:18} {per(cpu) * 1000:8.2f} {per(wall) * 1000:8.2f} "
            f"{per(statements):10.1f} {per(calls) if COUNT_CALLS else float('nan'):12.0f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
