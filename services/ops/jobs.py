"""Runs of the scheduled jobs: each run's start, end, outcome and counts, for operators.

    with record_run("expire_carts") as run:
        run.counts["expired"] = expire_carts(now)
        db.session.commit()

The run is written in its own short transactions (not the job's session), so a job that
fails is still recorded as failed, with its error.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import distinct_on

from models import JobRun, JobStatus, db
from services.errors import NotFound
from services.observability import metrics

# Older runs of a job beyond this many are deleted when a run finishes.
KEEP_RUNS_PER_JOB = 500
MAX_ERROR_LENGTH = 2000


class JobNotFound(NotFound):
    """No such scheduled job."""

    error = "job_not_found"


@dataclass
class RunHandle:
    """What the job body sees: its run id and the counts it wants recorded."""

    id: uuid.UUID
    job: str
    counts: dict = field(default_factory=dict)


def start_run(job: str, counts: dict | None = None) -> uuid.UUID:
    """A 'running' run of ``job``, committed now: the id to hand to the task that does it
    (``record_run(job, run_id=...)``), so the requester can follow it at once."""
    with db.session_factory() as own:
        run = JobRun(job=job, status=JobStatus.RUNNING, counts=counts or {})
        own.add(run)
        own.commit()
        return run.id


@contextlib.contextmanager
def record_run(job: str, run_id: uuid.UUID | None = None) -> Iterator[RunHandle]:
    """Record one run of ``job``: 'running' on entry; 'succeeded' with ``run.counts`` on a
    normal exit; 'failed' with the error when the body raises (the shared session is
    rolled back first, the exception propagates). With ``run_id``, the run ``start_run``
    recorded (a retried task runs it again: back to 'running')."""
    with db.session_factory() as own:
        run = own.get(JobRun, run_id) if run_id is not None else None
        if run is None:
            run = JobRun(job=job, status=JobStatus.RUNNING, counts={})
            if run_id is not None:
                run.id = run_id
            own.add(run)
        else:
            run.status, run.error, run.finished_at = JobStatus.RUNNING, None, None
        own.commit()
        handle = RunHandle(id=run.id, job=job, counts=dict(run.counts or {}))
    try:
        yield handle
    except BaseException as exc:
        db.session.rollback()
        _finish(handle, JobStatus.FAILED, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
        raise
    _finish(handle, JobStatus.SUCCEEDED, None)


def recorded_job(job: str) -> Callable:
    """Decorator form of ``record_run``: the function's returned dict becomes the counts."""

    def decorator(function: Callable[..., dict | None]) -> Callable[..., dict | None]:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with record_run(job) as run:
                counts = function(*args, **kwargs)
                run.counts.update(counts or {})
            return counts

        return wrapper

    return decorator


def report_progress(handle: RunHandle, **counts) -> None:
    """Write the counts so far of a run still going (its own short transaction), for those
    who follow it (GET /admin/jobs/<job>, /readyz)."""
    handle.counts.update(counts)
    with db.session_factory() as own:
        run = own.get(JobRun, handle.id)
        if run is not None:
            run.counts = dict(handle.counts)
            own.commit()


def running(job: str, started_within: timedelta) -> JobRun | None:
    """The newest run of ``job`` still 'running' that started within ``started_within`` (an
    older one is taken for a run whose worker died)."""
    return db.session.scalar(
        select(JobRun)
        .where(
            JobRun.job == job,
            JobRun.status == JobStatus.RUNNING,
            JobRun.started_at >= datetime.now(UTC) - started_within,
        )
        .order_by(JobRun.started_at.desc())
        .limit(1)
    )


def _finish(handle: RunHandle, status: str, error: str | None) -> None:
    metrics.JOB_RUNS.labels(handle.job, str(status)).inc()
    with db.session_factory() as own:
        run = own.get(JobRun, handle.id)
        if run is None:  # the 'running' row was rolled back with an enclosing transaction
            run = JobRun(id=handle.id, job=handle.job)
            own.add(run)
        run.status = status
        run.error = error
        run.counts = dict(handle.counts)
        run.finished_at = datetime.now(UTC)
        cutoff = own.scalar(
            select(JobRun.started_at)
            .where(JobRun.job == handle.job)
            .order_by(JobRun.started_at.desc())
            .offset(KEEP_RUNS_PER_JOB)
            .limit(1)
        )
        if cutoff is not None:
            own.execute(delete(JobRun).where(JobRun.job == handle.job, JobRun.started_at <= cutoff))
        own.commit()


def overview(scheduled: Iterable[str], recent: int = 20) -> dict:
    """Each job's last run (``None`` if it never ran) - the scheduled ones first, then any
    other recorded job - and the most recent runs of all jobs."""
    last_runs = {
        run.job: run
        for run in db.session.scalars(
            select(JobRun)
            .ext(distinct_on(JobRun.job))
            .order_by(JobRun.job, JobRun.started_at.desc(), JobRun.id)
        )
    }
    names = list(dict.fromkeys([*scheduled, *sorted(last_runs)]))
    return {
        "jobs": [{"job": name, "last_run": last_runs.get(name)} for name in names],
        "recent": db.session.scalars(
            select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id).limit(recent)
        ).all(),
    }


def last_successes() -> dict[str, datetime]:
    """Each job's last successful finish."""
    return dict(
        db.session.execute(
            select(JobRun.job, func.max(JobRun.finished_at))
            .where(JobRun.status == JobStatus.SUCCEEDED)
            .group_by(JobRun.job)
        ).all()
    )


def runs_of(job: str, limit: int = 20) -> list[JobRun]:
    """The job's most recent runs, newest first (one busy job cannot hide another's)."""
    return list(
        db.session.scalars(
            select(JobRun)
            .where(JobRun.job == job)
            .order_by(JobRun.started_at.desc(), JobRun.id)
            .limit(limit)
        )
    )
