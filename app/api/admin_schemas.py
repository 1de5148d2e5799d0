"""Marshmallow schemas of the operator endpoints: job runs, failed tasks, reconciliation."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.inventory_schemas import PageArgs
from models import FailedTaskStatus


class JobRunSchema(Schema):
    id = fields.UUID()
    job = fields.String()
    status = fields.String(metadata={"description": "running, succeeded or failed."})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict()
    error = fields.String(allow_none=True)


class JobSchema(Schema):
    job = fields.String()
    task = fields.String(allow_none=True)
    schedule = fields.String(allow_none=True, metadata={"description": "When beat runs it."})
    last_run = fields.Nested(JobRunSchema, allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    next_run_at = fields.DateTime(
        allow_none=True, metadata={"description": "When beat sends it next (estimate)."}
    )


class JobDetailSchema(JobSchema):
    runs = fields.List(fields.Nested(JobRunSchema), metadata={"description": "Last 20 runs."})


class JobRunRequestedSchema(Schema):
    job = fields.String()
    task = fields.String()
    task_id = fields.String()


class JobsOverviewSchema(Schema):
    jobs = fields.List(fields.Nested(JobSchema))
    recent = fields.List(fields.Nested(JobRunSchema))


class FailedTaskListArgs(PageArgs):
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in FailedTaskStatus])
    )


class FailedTaskSchema(Schema):
    id = fields.UUID()
    task_name = fields.String()
    task_id = fields.String()
    args = fields.List(fields.Raw())
    kwargs = fields.Dict()
    queue = fields.String(allow_none=True)
    options = fields.Dict(metadata={"description": "Remaining chain and callbacks."})
    exception = fields.String()
    traceback = fields.String(allow_none=True)
    failed_at = fields.DateTime()
    status = fields.String(metadata={"description": "failed or retried."})
    retried_at = fields.DateTime(allow_none=True)
    retried_task_id = fields.String(allow_none=True)


class FailedTaskPageSchema(Schema):
    items = fields.List(fields.Nested(FailedTaskSchema))
    next_cursor = fields.String(allow_none=True)


class RepairSchema(Schema):
    book_id = fields.String()
    warehouse_id = fields.String()
    field = fields.String()
    found = fields.Integer()
    expected = fields.Integer()
    repaired = fields.Boolean()


class ReconciliationReportSchema(Schema):
    id = fields.UUID()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    rows_checked = fields.Integer()
    drift_found = fields.Integer()
    repairs = fields.List(fields.Nested(RepairSchema))


class ReconciliationReportsSchema(Schema):
    latest = fields.Nested(ReconciliationReportSchema, allow_none=True)
    items = fields.List(fields.Nested(ReconciliationReportSchema))
    next_cursor = fields.String(allow_none=True)
