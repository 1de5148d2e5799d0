"""The Flask application factory: it only wires things together."""

from __future__ import annotations

from flask import Flask

from config import secrets, settings


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(settings.load())
    if overrides:
        app.config.from_mapping(overrides)
        if {"SECRET_KEY", "SECRET_KEY_PREVIOUS"} & overrides.keys():
            app.config.from_mapping(
                secrets.signing_keys(app.config["SECRET_KEY"], app.config["SECRET_KEY_PREVIOUS"])
            )

    from app.api import register_blueprints
    from app.cli import register_cli
    from app.edge import register_edge_guard
    from app.errors import register_error_handlers
    from app.extensions import register_extensions
    from app.metrics import register_metrics
    from app.request_log import register_request_log

    register_request_log(app)
    register_metrics(app)
    register_edge_guard(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    return app
