"""Extension objects (API, cache, rate limiter, database session, Celery) and their wiring."""

from __future__ import annotations

from flask import Flask
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api

from models import db
from services.catalog import cache as catalog_cache

api = Api()
cache = Cache()
# Storage, limits and switches come from the RATELIMIT_* / RATE_LIMIT_* settings; a breach
# raises a 429 that app/errors.py renders (error "rate_limited"), with Retry-After.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def register_extensions(app: Flask) -> None:
    db.init_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    app.teardown_appcontext(lambda exc: db.session.remove())
    api.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)
    catalog_cache.init(app.config["REDIS_URL"])

    from workers import celery_init_app

    celery_init_app(app)
