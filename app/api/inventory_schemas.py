"""Marshmallow schemas of the staff inventory and admin endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.fields import Int

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class PageArgs(Schema):
    limit = Int(
        minimum=1,
        maximum=MAX_LIMIT,
        load_default=DEFAULT_LIMIT,
        metadata={"description": f"Items per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=512),
        metadata={"description": "The `next_cursor` of the previous page."},
    )


class StockListArgs(PageArgs):
    below_threshold = fields.Boolean(
        load_default=False,
        metadata={"description": "Only rows whose available stock is at or under the threshold."},
    )


class StockSchema(Schema):
    book_id = fields.UUID()
    title = fields.String()
    warehouse = fields.String(metadata={"description": "Warehouse code."})
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    low_stock_threshold = fields.Integer()
    low_stock_alerted_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class StockPageSchema(Schema):
    items = fields.List(fields.Nested(StockSchema))
    next_cursor = fields.String(allow_none=True)


WAREHOUSE_CODE = fields.String(
    load_default=None,
    validate=validate.Length(min=1, max=32),
    metadata={"description": "Warehouse code; the default warehouse when left out."},
)


class StockUpdateSchema(Schema):
    on_hand = Int(minimum=0, maximum=10_000_000, required=True)
    low_stock_threshold = Int(minimum=0, maximum=10_000_000, load_default=None)
    warehouse = WAREHOUSE_CODE


class AdjustmentSchema(Schema):
    delta = Int(
        minimum=-10_000_000,
        maximum=10_000_000,
        required=True,
        validate=validate.NoneOf([0], error="The delta must not be zero."),
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    warehouse = WAREHOUSE_CODE


class MovementSchema(Schema):
    id = fields.Integer()
    warehouse = fields.String()
    delta_on_hand = fields.Integer()
    delta_reserved = fields.Integer()
    reason = fields.String()
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    actor_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class MovementPageSchema(Schema):
    items = fields.List(fields.Nested(MovementSchema))
    next_cursor = fields.String(allow_none=True)
