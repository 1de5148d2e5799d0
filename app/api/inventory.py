"""Staff inventory: stock levels, setting and adjusting stock, the movement ledger."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from app.api.base import Blueprint
from app.api.inventory_schemas import (
    AdjustmentSchema,
    MovementPageSchema,
    PageArgs,
    StockListArgs,
    StockPageSchema,
    StockSchema,
    StockUpdateSchema,
)
from app.auth import require_user, staff_required
from models import db
from services.catalog import cache as catalog_cache
from services.inventory import queries as inventory_queries
from services.inventory import stock as inventory
from services.search import freshness as search_freshness
from tasks.chains import send_recorded

blp = Blueprint("inventory", __name__, description="Stock levels and movements (staff).")


@blp.route("/inventory")
class StockLevels(MethodView):
    decorators = [staff_required]

    @blp.arguments(StockListArgs, location="query")
    @blp.response(200, StockPageSchema)
    @blp.alt_response(400, description="`invalid_cursor`: malformed cursor.")
    def get(self, args):
        """Stock per book and warehouse, optionally only at or under the threshold."""
        return inventory_queries.stock_levels(
            below_threshold=args["below_threshold"], limit=args["limit"], cursor=args["cursor"]
        )


@blp.route("/inventory/<uuid:book_id>")
class BookStock(MethodView):
    decorators = [staff_required]

    @blp.arguments(StockUpdateSchema)
    @blp.response(200, StockSchema)
    @blp.alt_response(404, description="`not_found`: no such book or warehouse.")
    @blp.alt_response(409, description="`invalid_adjustment`: below the reserved copies.")
    def put(self, body, book_id: uuid.UUID):
        """Set a book's copies on hand and low-stock threshold in a warehouse."""
        inventory.set_stock(
            book_id,
            body["on_hand"],
            body["low_stock_threshold"],
            warehouse_code=body["warehouse"],
            actor_id=require_user().id,
        )
        db.session.commit()
        catalog_cache.stock_changed()
        # In or out of stock now: the book's search document follows.
        send_recorded(current_app.extensions["celery"], search_freshness.take_recorded())
        return inventory_queries.stock_level(book_id, body["warehouse"])


@blp.route("/inventory/<uuid:book_id>/adjustments")
class Adjustments(MethodView):
    decorators = [staff_required]

    @blp.arguments(AdjustmentSchema)
    @blp.response(201, StockSchema)
    @blp.alt_response(404, description="`not_found`: no such book or warehouse.")
    @blp.alt_response(409, description="`invalid_adjustment`: below zero or below reserved.")
    def post(self, body, book_id: uuid.UUID):
        """Add or remove copies on hand, with a reason kept in the ledger."""
        inventory.adjust(
            book_id,
            body["delta"],
            body["reason"],
            actor_id=require_user().id,
            warehouse_code=body["warehouse"],
        )
        db.session.commit()
        catalog_cache.stock_changed()
        # In or out of stock now: the book's search document follows.
        send_recorded(current_app.extensions["celery"], search_freshness.take_recorded())
        return inventory_queries.stock_level(book_id, body["warehouse"])


@blp.route("/inventory/<uuid:book_id>/movements")
class Movements(MethodView):
    decorators = [staff_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MovementPageSchema)
    @blp.alt_response(404, description="`not_found`: no such book.")
    def get(self, args, book_id: uuid.UUID):
        """The stock ledger of one book, newest first."""
        return inventory_queries.movements(book_id, limit=args["limit"], cursor=args["cursor"])
