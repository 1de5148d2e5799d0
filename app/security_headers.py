"""Security headers on every answer, in one after-request hook (no extra library: the handful
of headers an API needs did not justify Flask-Talisman's HTML-site defaults)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Answers about one person, never to be kept by a browser or a shared cache.
PERSONAL_PREFIXES = ("/api/v1/me", "/api/v1/orders", "/api/v1/cart", "/api/v1/auth/")
HSTS = "max-age=31536000; includeSubDomains"


def register_security_headers(app: Flask) -> None:
    docs_path = app.config.get("OPENAPI_SWAGGER_UI_PATH") or "/docs"
    docs_policy = _docs_policy(app.config.get("OPENAPI_SWAGGER_UI_URL") or "")
    production = app.config.get("APP_ENV") == "production"

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        docs = request.path.rstrip("/") == docs_path.rstrip("/")
        headers["Content-Security-Policy"] = docs_policy if docs else API_POLICY
        if request.path.startswith(PERSONAL_PREFIXES):
            headers["Cache-Control"] = "no-store"
        if production:
            headers["Strict-Transport-Security"] = HSTS
        if response.status_code not in (429, 503):
            # Flask-Limiter adds it to every limited route's answer; it means "come back
            # later", so only refusals carry it.
            headers.pop("Retry-After", None)
        return response


def _docs_policy(assets_url: str) -> str:
    """Swagger UI: its scripts and styles from where its assets are (this server, or a CDN if
    OPENAPI_SWAGGER_UI_URL names one), its start script from here, the OpenAPI document from
    here; no inline code at all (the page carries its settings as data attributes)."""
    parts = urlsplit(assets_url)
    cdn = f" {parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return (
        "default-src 'none'; "
        f"script-src 'self'{cdn}; style-src 'self'{cdn}; "
        f"img-src 'self' data:{cdn}; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
