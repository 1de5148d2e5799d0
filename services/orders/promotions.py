"""Promotion codes: staff management, evaluation at quote time, atomic redemption and give-back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from models import Promotion, PromotionRedemption, db
from services.errors import Conflict, InvalidInput, NotFound


class PromotionNotFound(NotFound):
    """No such promotion."""

    error = "promotion_not_found"


class PromoCodeInvalid(InvalidInput):
    """This promotion code cannot be used."""

    error = "promo_code_invalid"


class PromoCodeExhausted(Conflict):
    """This promotion code has been used up."""

    error = "promo_code_exhausted"


class DuplicatePromoCode(Conflict):
    """A promotion with this code exists."""

    error = "duplicate_promo_code"


@dataclass(frozen=True)
class Discount:
    promotion: Promotion | None
    cents: int


NO_DISCOUNT = Discount(None, 0)


def normalize_code(code: str) -> str:
    return code.strip().upper()


def _validate(fields: dict) -> None:
    kind, value = fields.get("kind"), fields.get("value")
    if kind == "percent" and value is not None and not 1 <= value <= 100:
        raise InvalidInput("A percent promotion's value is between 1 and 100.")
    starts, ends = fields.get("starts_at"), fields.get("ends_at")
    if starts and ends and ends <= starts:
        raise InvalidInput("ends_at must be after starts_at.")


def create(fields: dict) -> Promotion:
    fields = {**fields, "code": normalize_code(fields["code"])}
    _validate(fields)
    if db.session.scalar(select(Promotion.id).where(Promotion.code == fields["code"])):
        raise DuplicatePromoCode()
    promotion = Promotion(**fields)
    db.session.add(promotion)
    db.session.flush()
    return promotion


def get(promotion_id: uuid.UUID) -> Promotion:
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is None:
        raise PromotionNotFound()
    return promotion


def update_fields(promotion_id: uuid.UUID, fields: dict) -> Promotion:
    promotion = get(promotion_id)
    if "code" in fields:
        fields = {**fields, "code": normalize_code(fields["code"])}
        clash = db.session.scalar(
            select(Promotion.id).where(
                Promotion.code == fields["code"], Promotion.id != promotion.id
            )
        )
        if clash:
            raise DuplicatePromoCode()
    merged = {
        "kind": promotion.kind,
        "value": promotion.value,
        "starts_at": promotion.starts_at,
        "ends_at": promotion.ends_at,
        **fields,
    }
    _validate(merged)
    for name, value in fields.items():
        setattr(promotion, name, value)
    db.session.flush()
    return promotion


def deactivate(promotion_id: uuid.UUID) -> Promotion:
    """Promotions are never deleted (orders refer to them); they stop being usable."""
    promotion = get(promotion_id)
    promotion.active = False
    return promotion


def list_all(limit: int, after_code: str | None) -> list[Promotion]:
    query = select(Promotion).order_by(Promotion.code).limit(limit)
    if after_code:
        query = query.where(Promotion.code > after_code)
    return list(db.session.scalars(query))


def _discount_cents(promotion: Promotion, subtotal_cents: int) -> int:
    if promotion.kind == "percent":
        return subtotal_cents * promotion.value // 100
    return min(promotion.value, subtotal_cents)


def _user_redemptions(promotion_id: uuid.UUID, user_id: uuid.UUID) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(PromotionRedemption)
        .where(
            PromotionRedemption.promotion_id == promotion_id,
            PromotionRedemption.user_id == user_id,
            PromotionRedemption.status == "active",
        )
    )


def evaluate(code: str | None, subtotal_cents: int, user_id: uuid.UUID | None) -> Discount:
    """The discount ``code`` gives on ``subtotal_cents`` now, or PromoCodeInvalid saying why."""
    if not code:
        return NO_DISCOUNT
    promotion = db.session.scalar(select(Promotion).where(Promotion.code == normalize_code(code)))
    now = datetime.now(UTC)
    if promotion is None or not promotion.active:
        raise PromoCodeInvalid("This promotion code does not exist or is no longer active.")
    if (promotion.starts_at and now < promotion.starts_at) or (
        promotion.ends_at and now >= promotion.ends_at
    ):
        raise PromoCodeInvalid("This promotion code is not valid at this time.")
    if subtotal_cents < promotion.min_subtotal_cents:
        raise PromoCodeInvalid(
            f"This promotion code needs a subtotal of at least {promotion.min_subtotal_cents}."
        )
    if promotion.max_redemptions is not None and promotion.redemptions >= promotion.max_redemptions:
        raise PromoCodeExhausted()
    if (
        user_id is not None
        and promotion.per_user_limit is not None
        and _user_redemptions(promotion.id, user_id) >= promotion.per_user_limit
    ):
        raise PromoCodeExhausted("You have used this promotion code as often as it allows.")
    return Discount(promotion, _discount_cents(promotion, subtotal_cents))


def count_redemption(promotion_id) -> bool:
    """Add one to the promotion's redemptions if it is active and not used up; the row update is
    the lock. False when it could not be counted. Does not commit."""
    counted = db.session.execute(
        update(Promotion)
        .where(
            Promotion.id == promotion_id,
            Promotion.active.is_(True),
            (Promotion.max_redemptions.is_(None))
            | (Promotion.redemptions < Promotion.max_redemptions),
        )
        .values(redemptions=Promotion.redemptions + 1)
        .returning(Promotion.id)
    ).first()
    return counted is not None


def redeem(promotion: Promotion, order_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Count one redemption atomically (the row update is the lock); does not commit."""
    if not count_redemption(promotion.id):
        raise PromoCodeExhausted()
    # Concurrent redemptions of this promotion queue behind the row lock taken above, so this
    # count sees every committed redemption of the same user.
    if (
        promotion.per_user_limit is not None
        and _user_redemptions(promotion.id, user_id) >= promotion.per_user_limit
    ):
        raise PromoCodeExhausted("You have used this promotion code as often as it allows.")
    db.session.add(
        PromotionRedemption(promotion_id=promotion.id, order_id=order_id, user_id=user_id)
    )


def give_back(order_id: uuid.UUID) -> bool:
    """Return an order's redemption (failed or cancelled order). Idempotent; does not commit."""
    returned = db.session.execute(
        update(PromotionRedemption)
        .where(PromotionRedemption.order_id == order_id, PromotionRedemption.status == "active")
        .values(status="returned")
        .returning(PromotionRedemption.promotion_id)
    ).first()
    if returned is None:
        return False
    db.session.execute(
        update(Promotion)
        .where(Promotion.id == returned.promotion_id, Promotion.redemptions > 0)
        .values(redemptions=Promotion.redemptions - 1)
    )
    return True
