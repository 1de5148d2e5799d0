"""Staff: promotion codes (percent or fixed, minimum subtotal, window, redemption limits)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.fields import Int
from app.auth import staff_required
from models import db
from services.orders import promotions

blp = Blueprint("promotions", __name__, description="Promotions (staff)")


class PromotionSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9_-]{2,64}$", error="2-64 letters, digits, - or _."
        ),
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=255))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["percent", "fixed"]))
    value = Int(minimum=1, required=True)
    min_subtotal_cents = Int(minimum=0, load_default=0)
    starts_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    ends_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    max_redemptions = Int(minimum=1, load_default=None, allow_none=True)
    per_user_limit = Int(minimum=1, load_default=None, allow_none=True)
    active = ma.fields.Boolean(load_default=True)
    redemptions = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class PromotionPatchSchema(PromotionSchema):
    class Meta:
        partial = True


class PromotionListArgs(ma.Schema):
    limit = Int(minimum=1, maximum=100, load_default=20)
    cursor = ma.fields.String(load_default=None)


class PromotionPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PromotionSchema))
    next_cursor = ma.fields.String(allow_none=True)


def _without_defaults(body: dict, raw_keys) -> dict:
    return {key: value for key, value in body.items() if key in raw_keys}


@blp.route("/promotions")
class Promotions(MethodView):
    @staff_required
    @blp.arguments(PromotionListArgs, location="query")
    @blp.response(200, PromotionPageSchema)
    def get(self, args):
        """Staff: promotions by code."""
        page = promotions.list_all(args["limit"] + 1, args["cursor"])
        more = len(page) > args["limit"]
        page = page[: args["limit"]]
        return {"items": page, "next_cursor": page[-1].code if more else None}

    @staff_required
    @blp.arguments(PromotionSchema)
    @blp.response(201, PromotionSchema)
    def post(self, body):
        """Staff: create a promotion code."""
        promotion = promotions.create(body)
        db.session.commit()
        return promotion


@blp.route("/promotions/<uuid:promotion_id>")
class PromotionDetail(MethodView):
    @staff_required
    @blp.response(200, PromotionSchema)
    def get(self, promotion_id):
        """Staff: one promotion with its redemption count."""
        return promotions.get(promotion_id)

    @staff_required
    @blp.arguments(PromotionPatchSchema(partial=True))
    @blp.response(200, PromotionSchema)
    def patch(self, body, promotion_id):
        """Staff: change a promotion."""
        promotion = promotions.update_fields(promotion_id, body)
        db.session.commit()
        return promotion

    @staff_required
    @blp.response(200, PromotionSchema)
    def delete(self, promotion_id):
        """Staff: deactivate a promotion (kept for the orders that used it)."""
        promotion = promotions.deactivate(promotion_id)
        db.session.commit()
        return promotion
