"""One error body for every 4xx/5xx: flask-smorest's shape plus a stable ``error`` id."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from services import errors
from services.accounts.throttle import TooManyAttempts
from services.inventory import stock as inventory
from services.payments import events
from services.search.backend import SearchUnavailable
from services.search.engine import UnknownSearchBackend

log = logging.getLogger(__name__)

ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}

# Domain error class -> HTTP status; the most specific class in an error's MRO wins.
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.DomainError: 400,
    errors.InvalidInput: 422,
    errors.InvalidCursor: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    # inventory
    inventory.InsufficientStock: 409,
    inventory.InvalidAdjustment: 409,
    inventory.ReservationNotHeld: 409,
    # accounts
    TooManyAttempts: 429,
    # payments: a bad webhook signature is a 400 (Stripe retries non-2xx answers)
    events.InvalidSignature: 400,
    # search: an engine that cannot answer (PostgreSQL answers for Elasticsearch first), or
    # a SEARCH_BACKEND this build does not know (refused at start): the server's fault
    SearchUnavailable: 503,
    UnknownSearchBackend: 503,
}


def error_body(status: int, message: str, error: str | None = None, errors_=None) -> dict:
    body = {
        "code": status,
        "status": _status_name(status),
        "message": message,
        "error": error or ERROR_IDS.get(status, "error"),
    }
    if errors_:
        body["errors"] = errors_
    return body


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_for(exc: errors.DomainError) -> int:
    return status_for_class(type(exc))


def status_for_class(error_class: type[errors.DomainError]) -> int:
    for cls in error_class.__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if status >= 500 and isinstance(exc, InternalServerError):
        original = exc.original_exception
        if original is not None:
            log.exception("unhandled error", exc_info=original)
        message = "The server failed to answer this request; it has been logged."
    else:
        message = data.get("message") or exc.description or _status_name(status)
    # flask-smorest/webargs put validation messages under data["messages"].
    field_errors = data.get("errors") or data.get("messages")
    body = error_body(status, message, data.get("error"), field_errors)
    response = jsonify(body)
    response.status_code = status
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if exc.response is None and hasattr(exc, "get_headers"):
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type",) and name not in response.headers:
                response.headers[name] = value
    return response


def handle_domain_error(exc: errors.DomainError):
    status = status_for(exc)
    response = jsonify(error_body(status, exc.message, exc.error, exc.details or None))
    response.status_code = status
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(errors.DomainError, handle_domain_error)
