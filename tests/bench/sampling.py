"""What the benchmarks sample each second while a load runs (``make load``, ``make sustained``)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from models import db
from workers import QUEUES


class Sampler(threading.Thread):
    """Each second: the messages ready in every queue, the confirmed orders and the order steps
    not yet finished (the backlog, including messages the workers have prefetched, which the
    broker no longer counts as ready). ``rows``: (seconds, {queue: ready}, confirmed, open)."""

    def __init__(self, app) -> None:
        super().__init__(daemon=True)
        self.app, self.rows, self.done = app, [], threading.Event()

    def run(self) -> None:
        celery_app = self.app.extensions["celery"]
        started = time.monotonic()
        with celery_app.connection_for_write() as conn, self.app.app_context():
            channel = conn.default_channel
            while not self.done.is_set():
                depth = {q: channel.queue_declare(q, passive=True).message_count for q in QUEUES}
                confirmed, open_steps = db.session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM orders WHERE status = 'confirmed'), "
                        "(SELECT count(*) FROM order_steps "
                        "WHERE status IN ('pending', 'running'))"
                    )
                ).one()
                db.session.commit()
                self.rows.append((time.monotonic() - started, depth, confirmed, open_steps))
                self.done.wait(1.0)
