"""Staff reports: sales (from the hourly roll-up of domain events), as JSON or CSV."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth import staff_required
from services.analytics import sales

blp = Blueprint("reports", __name__, description="Sales reports (staff).")


class SalesArgsSchema(ma.Schema):
    from_ = ma.fields.Date(required=True, data_key="from")
    to = ma.fields.Date(required=True)
    granularity = ma.fields.String(load_default="day", validate=ma.validate.OneOf(("day", "hour")))


class MetricsSchema(ma.Schema):
    revenue_cents = ma.fields.Integer()
    orders = ma.fields.Integer()
    units = ma.fields.Integer()
    average_order_value_cents = ma.fields.Integer()
    refunds = ma.fields.Integer()
    refunds_cents = ma.fields.Integer()


class BucketSchema(MetricsSchema):
    start = ma.fields.DateTime()


class SalesReportSchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()
    granularity = ma.fields.String()
    totals = ma.fields.Nested(MetricsSchema)
    buckets = ma.fields.List(ma.fields.Nested(BucketSchema))
    top_books = ma.fields.List(ma.fields.Dict())
    top_genres = ma.fields.List(ma.fields.Dict())


@blp.route("/admin/reports/sales")
class SalesReport(MethodView):
    decorators = [staff_required]

    @blp.arguments(SalesArgsSchema, location="query")
    @blp.response(200, SalesReportSchema)
    def get(self, args):
        """Revenue, orders, units, average order value, refunds, top books and genres per
        UTC day or hour (``Accept: text/csv`` for the buckets as CSV)."""
        body = sales.report(args["from_"], args["to"], args["granularity"])
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            return Response(sales.report_csv(body), mimetype="text/csv")
        return {**body, "from_": body.pop("from")}
