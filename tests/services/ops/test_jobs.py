"""Job runs are recorded with their outcome and counts, failures included."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from models import Book, JobRun, db
from services.ops import jobs


def runs(job: str) -> list[JobRun]:
    db.session.expire_all()
    return db.session.scalars(
        select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at)
    ).all()


def test_a_successful_run_records_its_counts(committed):
    with jobs.record_run("expire_carts") as run:
        assert [r.status for r in runs("expire_carts")] == ["running"]
        run.counts["expired"] = 3

    (recorded,) = runs("expire_carts")
    assert recorded.id == run.id
    assert (recorded.status, recorded.counts, recorded.error) == ("succeeded", {"expired": 3}, None)
    assert recorded.finished_at >= recorded.started_at


def test_a_failed_run_is_recorded_and_its_work_rolled_back(committed):
    with pytest.raises(RuntimeError, match="disk on fire"), jobs.record_run("nightly") as run:
        db.session.add(Book(title="half-written", price_cents=1))
        db.session.flush()
        run.counts["seen"] = 1
        raise RuntimeError("disk on fire")

    (recorded,) = runs("nightly")
    assert (recorded.status, recorded.error) == ("failed", "RuntimeError: disk on fire")
    assert recorded.counts == {"seen": 1}
    assert db.session.scalar(select(func.count()).select_from(Book)) == 0


def test_the_decorator_records_the_returned_counts(committed):
    @jobs.recorded_job("count_things")
    def count_things(n):
        return {"things": n}

    assert count_things(4) == {"things": 4}
    assert [(r.status, r.counts) for r in runs("count_things")] == [("succeeded", {"things": 4})]


def test_old_runs_beyond_the_limit_are_pruned(committed, engine):
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO job_runs (id, job, started_at, status, counts) "
                "SELECT gen_random_uuid(), 'busy', now() - make_interval(mins => n), "
                "'succeeded', '{}' FROM generate_series(1, :n) AS n"
            ),
            {"n": jobs.KEEP_RUNS_PER_JOB + 5},
        )

    with jobs.record_run("busy"):
        pass

    kept = runs("busy")
    assert len(kept) == jobs.KEEP_RUNS_PER_JOB
    assert kept[-1].status == "succeeded" and kept[-1].finished_at is not None


def test_overview_lists_scheduled_jobs_first_then_others(committed):
    with jobs.record_run("ad_hoc"):
        pass
    with pytest.raises(ValueError), jobs.record_run("nightly"):
        raise ValueError("bad")

    overview = jobs.overview(["nightly", "never_ran"])

    assert [(j["job"], j["last_run"] and j["last_run"].status) for j in overview["jobs"]] == [
        ("nightly", "failed"),
        ("never_ran", None),
        ("ad_hoc", "succeeded"),
    ]
    assert {r.job for r in overview["recent"]} == {"ad_hoc", "nightly"}
