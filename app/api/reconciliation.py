"""Stock reconciliation reports (staff): the latest and the earlier ones."""

from __future__ import annotations

import uuid

from flask.views import MethodView

from app.api.admin_schemas import ReconciliationReportSchema, ReconciliationReportsSchema
from app.api.base import Blueprint
from app.api.inventory_schemas import PageArgs
from app.auth import staff_required
from services.inventory import reconciliation as stock_reconciliation

blp = Blueprint("reconciliation", __name__, description="Stock reconciliation reports (staff).")


@blp.route("/admin/reports/reconciliation")
class Reports(MethodView):
    decorators = [staff_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ReconciliationReportsSchema)
    @blp.alt_response(400, description="`invalid_cursor`: malformed cursor.")
    def get(self, args):
        """The latest report, and all reports newest first."""
        page = stock_reconciliation.reports(args["limit"], args["cursor"])
        latest = stock_reconciliation.reports(1).items
        return {
            "latest": latest[0] if latest else None,
            "items": page.items,
            "next_cursor": page.next_cursor,
        }


@blp.route("/admin/reports/reconciliation/<uuid:report_id>")
class ReportById(MethodView):
    decorators = [staff_required]

    @blp.response(200, ReconciliationReportSchema)
    @blp.alt_response(404, description="`not_found`: no such report.")
    def get(self, report_id: uuid.UUID):
        """One reconciliation report with its repairs."""
        return stock_reconciliation.report(report_id)
