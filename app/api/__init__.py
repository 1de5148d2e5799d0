"""HTTP layer: one flask-smorest Blueprint per resource."""

from __future__ import annotations

from flask import Flask

from app.extensions import api

API_PREFIX = "/api/v1"


def register_blueprints(app: Flask) -> None:
    from app.api import docs_assets, health

    app.register_blueprint(health.blp)
    app.register_blueprint(docs_assets.blp)
    for module in _resource_modules():
        api.register_blueprint(module.blp, url_prefix=API_PREFIX)


def _resource_modules():
    """Resource blueprints under /api/v1, in the order they appear in the docs."""
    from app.api import (
        auth,
        authors,
        books,
        books_staff,
        cart,
        checkout,
        covers,
        failed_tasks,
        genres,
        inventory,
        jobs,
        languages,
        me,
        orders,
        payments,
        promotions,
        recommendations,
        reconciliation,
        reports,
        reviews,
        search,
        shipping,
        webhooks,
    )

    return [
        books,
        genres,
        languages,
        authors,
        books_staff,
        covers,
        auth,
        me,
        cart,
        checkout,
        orders,
        promotions,
        inventory,
        reconciliation,
        jobs,
        failed_tasks,
        reviews,
        recommendations,
        shipping,
        reports,
        webhooks,
        payments,
        search,
    ]
