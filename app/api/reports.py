"""Staff reports: sales (from the hourly roll-up of domain events), as JSON or CSV; the
nightly payment reconciliation's runs."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView

from app.api.base import Blueprint, Schema
from app.api.fields import Int
from app.auth import staff_required
from services.analytics import sales
from services.payments import reconciliation as payment_reconciliation

blp = Blueprint("reports", __name__, description="Sales reports (staff).")


class SalesArgsSchema(Schema):
    from_ = ma.fields.Date(required=True, data_key="from")
    to = ma.fields.Date(required=True)
    granularity = ma.fields.String(load_default="day", validate=ma.validate.OneOf(("day", "hour")))


class MetricsSchema(Schema):
    revenue_cents = ma.fields.Integer()
    orders = ma.fields.Integer()
    units = ma.fields.Integer()
    average_order_value_cents = ma.fields.Integer()
    refunds = ma.fields.Integer()
    refunds_cents = ma.fields.Integer()


class BucketSchema(MetricsSchema):
    start = ma.fields.DateTime()


class SalesReportSchema(Schema):
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


class PaymentReportArgsSchema(Schema):
    limit = Int(load_default=10, validate=ma.validate.Range(1, 50))


class PaymentFindingSchema(Schema):
    kind = ma.fields.String(
        metadata={"enum": list(payment_reconciliation.FINDING_KINDS)},
        validate=ma.validate.OneOf(payment_reconciliation.FINDING_KINDS),
    )
    order_id = ma.fields.String(allow_none=True)
    provider_ref = ma.fields.String(allow_none=True)
    ours = ma.fields.Dict(allow_none=True)
    theirs = ma.fields.Dict(allow_none=True)
    settled = ma.fields.String(metadata={"description": "How the order was settled, if it was."})


class PaymentReportSchema(Schema):
    id = ma.fields.UUID()
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    window_from = ma.fields.DateTime()
    window_to = ma.fields.DateTime()
    provider = ma.fields.String()
    intents_checked = ma.fields.Integer()
    payments_checked = ma.fields.Integer()
    mismatches = ma.fields.Integer()
    settled = ma.fields.Integer()
    findings = ma.fields.List(ma.fields.Nested(PaymentFindingSchema))


class PaymentReportsSchema(Schema):
    reports = ma.fields.List(ma.fields.Nested(PaymentReportSchema))


@blp.route("/admin/reports/payments")
class PaymentReports(MethodView):
    decorators = [staff_required]

    @blp.arguments(PaymentReportArgsSchema, location="query")
    @blp.response(200, PaymentReportsSchema)
    def get(self, args):
        """The latest runs of the nightly payment reconciliation (newest first): what was
        compared with the provider and every mismatch found."""
        return {"reports": payment_reconciliation.latest_reports(args["limit"])}
