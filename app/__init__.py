"""The Flask application factory: it only wires things together."""

from __future__ import annotations

from flask import Flask

from config import settings
from services import settings as service_settings


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(settings.load())
    if overrides:
        app.config.from_mapping(overrides)
    service_settings.bind(service_settings.Settings.from_config(app.config))

    from app.api import register_blueprints
    from app.cli import register_cli
    from app.errors import register_error_handlers
    from app.extensions import register_extensions
    from app.metrics import register_metrics
    from app.request_log import register_request_log
    from app.tracing import register_tracing

    register_request_log(app)
    register_metrics(app)
    register_extensions(app)
    register_tracing(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    from services.analytics import capture

    capture.install()  # domain events written with the changes they describe
    return app
