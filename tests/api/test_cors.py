"""CORS: browsers on CORS_ORIGINS may call the API and read its headers; others get nothing."""

from __future__ import annotations

import pytest

from app import create_app

ALLOWED = "https://shop.example"


@pytest.fixture(scope="module")
def browser(app):
    cors_app = create_app({"TESTING": True, "CORS_ORIGINS": f"{ALLOWED}, https://admin.example"})
    return cors_app.test_client()


def test_an_allowed_origin_may_read_the_headers_a_frontend_needs(browser, session):
    # when the storefront's origin calls the API
    response = browser.get("/api/v1/cart", headers={"Origin": ALLOWED})
    # then the browser may read the answer and the headers the frontend relies on
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert exposed == {"x-cart-token", "location", "etag", "retry-after", "x-request-id"}
    # and no cookies or credentials are involved (bearer tokens)
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_is_answered_and_cached(browser, session):
    # when the browser asks before a checkout with its headers
    response = browser.options(
        "/api/v1/checkout",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key, "
            "X-Cart-Token",
        },
    )
    # then the method and headers are allowed and the answer may be cached
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key", "x-cart-token"):
        assert header in allowed
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_other_origins_get_no_cors_headers(browser, client, session):
    # when a page on another origin calls the API (or the API runs without CORS_ORIGINS)
    for answer in (
        browser.get("/api/v1/cart", headers={"Origin": "https://evil.example"}),
        browser.options(
            "/api/v1/checkout",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        ),
        client.get("/api/v1/cart", headers={"Origin": ALLOWED}),
    ):
        # then the answer carries no CORS header at all, so the browser keeps it from the page
        assert not [name for name, _ in answer.headers.items() if name.startswith("Access-Control")]
