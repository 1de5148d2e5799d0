"""Operations records: runs of the scheduled jobs and Celery tasks that gave up."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from models.db import Base, new_id


class JobStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One run of a scheduled job (start, end, outcome, counts) for ``GET /admin/jobs``."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status_known"),
        Index("ix_job_runs_job_started", "job", text("started_at DESC")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(
        String(16), default=JobStatus.RUNNING, server_default=JobStatus.RUNNING.value
    )
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class FailedTaskStatus(enum.StrEnum):
    FAILED = "failed"
    RETRIED = "retried"


class FailedTask(Base):
    """A task whose retries were exhausted, kept for an operator to inspect and re-drive."""

    __tablename__ = "failed_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('failed', 'retried')", name="status_known"),
        Index("ix_failed_tasks_failed_at", text("failed_at DESC"), "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    task_name: Mapped[str] = mapped_column(String(200))
    # A redelivered message that fails again is recorded once.
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str | None] = mapped_column(String(64))
    # What the message carried beyond its arguments, so a re-driven step continues its
    # flow: {"chain": [...remaining steps], "link": [...], "link_error": [...]}.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    exception: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    retried_at: Mapped[datetime | None]
    retried_task_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        String(16), default=FailedTaskStatus.FAILED, server_default=FailedTaskStatus.FAILED.value
    )
