"""Promotions: staff CRUD with validation, and redemption limits counted at checkout."""

from __future__ import annotations

from sqlalchemy import select

from models import Promotion, PromotionRedemption, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out


def _staff(app):
    return auth_headers(app, make_user(role="staff"))


def test_staff_create_list_change_and_deactivate_a_promotion(client, app):
    staff = _staff(app)

    created = client.post(
        "/api/v1/promotions",
        json={"code": "spring25", "kind": "percent", "value": 25, "max_redemptions": 10},
        headers=staff,
    )
    promotion_id = created.get_json()["id"]
    duplicate = client.post(
        "/api/v1/promotions", json={"code": "SPRING25", "kind": "fixed", "value": 5}, headers=staff
    )
    changed = client.patch(
        f"/api/v1/promotions/{promotion_id}", json={"min_subtotal_cents": 2000}, headers=staff
    )
    listed = client.get("/api/v1/promotions", headers=staff)
    deactivated = client.delete(f"/api/v1/promotions/{promotion_id}", headers=staff)

    assert created.status_code == 201 and created.get_json()["code"] == "SPRING25"
    assert duplicate.status_code == 409 and duplicate.get_json()["error"] == "duplicate_promo_code"
    assert changed.get_json()["min_subtotal_cents"] == 2000
    assert [item["code"] for item in listed.get_json()["items"]] == ["SPRING25"]
    assert deactivated.get_json()["active"] is False


def test_invalid_promotions_are_refused(client, app):
    staff = _staff(app)
    over = client.post(
        "/api/v1/promotions", json={"code": "BIG", "kind": "percent", "value": 150}, headers=staff
    )
    window = client.post(
        "/api/v1/promotions",
        json={
            "code": "BACKWARDS",
            "kind": "fixed",
            "value": 100,
            "starts_at": "2030-01-02T00:00:00Z",
            "ends_at": "2030-01-01T00:00:00Z",
        },
        headers=staff,
    )
    shopper = client.get("/api/v1/promotions", headers=auth_headers(app, make_user()))

    assert over.status_code == 422 and window.status_code == 422
    assert shopper.status_code == 403


def test_a_code_outside_its_window_or_below_its_minimum_is_refused(client, app):
    db.session.add_all(
        [
            Promotion(code="LATER", kind="fixed", value=100, starts_at=_days(+1)),
            Promotion(code="OVER", kind="fixed", value=100, ends_at=_days(-1)),
            Promotion(code="BIGSPEND", kind="fixed", value=100, min_subtotal_cents=10_000),
        ]
    )
    db.session.commit()
    headers = auth_headers(app, make_user())
    add_to_cart(client, headers, make_book(price_cents=1000))

    for code in ("LATER", "OVER", "BIGSPEND"):
        response = check_out(client, headers, promo_code=code)
        assert response.status_code == 422, code
        assert response.get_json()["error"] == "promo_code_invalid"


def test_redemptions_are_counted_and_limited_globally_and_per_user(client, app):
    db.session.add_all(
        [
            Promotion(code="ONCE", kind="fixed", value=300, max_redemptions=1),
            Promotion(code="MINE", kind="fixed", value=300, per_user_limit=1),
        ]
    )
    db.session.commit()
    book = make_book(price_cents=1000)
    first, second = (auth_headers(app, make_user()) for _ in range(2))
    add_to_cart(client, first, book)
    add_to_cart(client, second, book)

    used = check_out(client, first, promo_code="once")
    exhausted = check_out(client, second, promo_code="ONCE")

    assert used.status_code == 202 and used.get_json()["discount_cents"] == 300
    assert exhausted.status_code == 409 and exhausted.get_json()["error"] == "promo_code_exhausted"
    once = db.session.scalar(select(Promotion).where(Promotion.code == "ONCE"))
    assert once.redemptions == 1
    assert db.session.scalars(select(PromotionRedemption)).one().status == "active"


def _days(offset: int):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(days=offset)
