"""The Flask application factory: it only wires things together."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import secrets, settings
from models import encryption
from services import settings as service_settings


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(settings.load())
    if overrides:
        app.config.from_mapping(overrides)
        if {"SECRET_KEY", "SECRET_KEY_PREVIOUS"} & overrides.keys():
            app.config.from_mapping(
                secrets.signing_keys(app.config["SECRET_KEY"], app.config["SECRET_KEY_PREVIOUS"])
            )
    bind_services(app)
    from services.search.engine import check_configuration

    check_configuration(app.config["SEARCH_BACKEND"], app.config["ELASTICSEARCH_URL"])

    from app import page_front
    from app.api import register_blueprints
    from app.cli import register_cli
    from app.edge import register_edge_guard
    from app.errors import register_error_handlers
    from app.extensions import register_extensions
    from app.metrics import register_metrics
    from app.request_log import register_request_log
    from app.security_headers import register_security_headers
    from app.tracing import register_tracing

    _trust_proxies(app)
    register_request_log(app)
    register_security_headers(app)
    register_metrics(app)
    register_edge_guard(app)
    register_extensions(app)
    register_tracing(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    page_front.install(app)  # outermost: it uses no client address, so ProxyFix may sit below
    from services.analytics import capture

    capture.install()  # domain events written with the changes they describe
    return app


def bind_services(app: Flask) -> None:
    """Bind this app's settings and PII keyring as the ones services and models read (one app
    per process; tests that build a second app bind the first one back)."""
    service_settings.bind(service_settings.Settings.from_config(app.config))
    encryption.bind_keyring(encryption.Keyring.parse(app.config["PII_KEYS"]))


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxy hops, the client address (for rate limits and logs) and
    scheme come from their X-Forwarded-For/-Proto; with 0 (the default) those are ignored."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
