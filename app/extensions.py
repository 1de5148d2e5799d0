"""Extension objects (API, cache, database session, Celery) and their wiring."""

from __future__ import annotations

from flask import Flask
from flask_caching import Cache
from flask_smorest import Api

from models import db
from services import catalog_cache

api = Api()
cache = Cache()


def register_extensions(app: Flask) -> None:
    db.init_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    app.teardown_appcontext(lambda exc: db.session.remove())
    api.init_app(app)
    cache.init_app(app)
    catalog_cache.init(app.config["REDIS_URL"])

    from workers import celery_init_app

    celery_init_app(app)
