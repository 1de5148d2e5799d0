"""Readings taken at scrape time (not by a busy loop), each reused for a few seconds:
broker queue depths and consumers, the outbox backlog, low-stock books, jobs' last success."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from models import (
    FailedTask,
    FailedTaskStatus,
    JobRun,
    JobStatus,
    OutboxMessage,
    ReindexRequest,
    Stock,
    db,
)

log = logging.getLogger(__name__)


class _Cached:
    """One reading reused for ``seconds`` (scrapes from several Prometheus servers, or a
    dashboard refreshing, must not hammer the broker and the database)."""

    def __init__(self, read: Callable[[], object], seconds: float) -> None:
        self.read, self.seconds = read, seconds
        self.value, self.expires = None, 0.0

    def __call__(self):
        now = time.monotonic()
        if now >= self.expires:
            self.value, self.expires = self.read(), now + self.seconds
        return self.value


def queue_readings(celery_app, queues: Iterable[str]) -> dict[str, tuple[int, int]] | None:
    """{queue: (messages ready, consumers)} by a passive declare; None if the broker is down."""
    try:
        with celery_app.connection_for_read(connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.default_channel
            readings = {}
            for queue in queues:
                ok = channel.queue_declare(queue, passive=True)
                readings[queue] = (ok.message_count, ok.consumer_count)
            return readings
    except Exception as exc:  # a scrape must answer even without a broker
        log.warning("could not read queue depths from the broker: %s", exc)
        return None


def database_readings() -> dict:
    backlog, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.sent_at.is_(None)
        )
    ).one()
    low_stock = db.session.scalar(
        select(func.count(func.distinct(Stock.book_id))).where(
            Stock.on_hand - Stock.reserved <= Stock.low_stock_threshold
        )
    )
    successes = dict(
        db.session.execute(
            select(JobRun.job, func.max(JobRun.finished_at))
            .where(JobRun.status == JobStatus.SUCCEEDED)
            .group_by(JobRun.job)
        ).all()
    )
    failed_tasks = db.session.scalar(
        select(func.count()).where(FailedTask.status == FailedTaskStatus.FAILED)
    )
    search_backlog, search_oldest = db.session.execute(
        select(func.count(), func.min(ReindexRequest.created_at)).where(
            ReindexRequest.processed_at.is_(None)
        )
    ).one()
    db.session.commit()
    now = datetime.now(UTC)
    return {
        "outbox_backlog": backlog,
        "outbox_oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0,
        "low_stock_books": low_stock or 0,
        "failed_tasks": failed_tasks or 0,
        "search_backlog": search_backlog,
        "search_index_lag_seconds": (
            (now - search_oldest).total_seconds() if search_oldest else 0.0
        ),
        "job_last_success": {job: at.timestamp() for job, at in successes.items() if at},
    }


class ScrapeTimeGauges(Collector):
    def __init__(
        self,
        celery_app,
        queues: Iterable[str],
        cache_seconds: float = 5.0,
        job_periods: dict[str, float] | None = None,
    ) -> None:
        self.queues = tuple(queues)
        self.job_periods = dict(job_periods or {})
        self._queues = _Cached(lambda: queue_readings(celery_app, self.queues), cache_seconds)
        self._database = _Cached(database_readings, cache_seconds)

    def collect(self):
        broker = GaugeMetricFamily("bookstore_broker_up", "1 if the broker answered the scrape")
        depth = GaugeMetricFamily(
            "bookstore_queue_depth", "Messages ready in the queue", labels=["queue"]
        )
        consumers = GaugeMetricFamily(
            "bookstore_queue_consumers", "Consumers of the queue", labels=["queue"]
        )
        readings = self._queues()
        broker.add_metric([], 0 if readings is None else 1)
        for queue, (ready, count) in (readings or {}).items():
            depth.add_metric([queue], ready)
            consumers.add_metric([queue], count)
        yield from (broker, depth, consumers)
        yield from self._database_families()

    def _database_families(self):
        try:
            found = self._database()
        except Exception as exc:  # a scrape must answer even without the database
            db.session.rollback()
            log.warning("could not read the database gauges: %s", exc)
            return
        for name, help_text in (
            ("outbox_backlog", "Outbox messages not sent to the broker yet"),
            ("outbox_oldest_age_seconds", "Age of the oldest unsent outbox message (0: none)"),
            ("low_stock_books", "Books at or under their low-stock threshold"),
            ("failed_tasks", "Tasks in the failed-task store waiting for an operator"),
            ("search_backlog", "Books waiting to be reindexed"),
            ("search_index_lag_seconds", "Age of the oldest reindex request not done (0: none)"),
        ):
            family = GaugeMetricFamily(f"bookstore_{name}", help_text)
            family.add_metric([], found[name])
            yield family
        last = GaugeMetricFamily(
            "bookstore_job_last_success_timestamp_seconds",
            "When the job last succeeded (Unix time)",
            labels=["job"],
        )
        for job, at in sorted(found["job_last_success"].items()):
            last.add_metric([job], at)
        yield last
        period = GaugeMetricFamily(
            "bookstore_job_period_seconds", "How often beat runs the job", labels=["job"]
        )
        for job, seconds in sorted(self.job_periods.items()):
            period.add_metric([job], seconds)
        yield period
