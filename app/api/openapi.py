"""The OpenAPI document as the truth: bearer security per operation, one Error schema, the
error responses each operation really gives (with their ids), and the headers both ways.

Views declare what they ask and raise (``app.auth`` decorators, ``app.api.base.contract``);
``ContractPlugin`` turns that into the document, and fills in what every operation of a kind
shares (422 for operations with arguments, 404 for those with an id in the path, 401/403 for
those behind a login). No operation has a blanket ``default`` response, so a status the
document does not state fails the conformance test (tests/api/test_openapi_conformance.py)."""

from __future__ import annotations

import re

from apispec import BasePlugin
from marshmallow import fields

from app.api.base import Schema
from app.errors import ERROR_IDS, status_for_class
from services.errors import DomainError

BEARER = "bearerAuth"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The `access_token` of POST /auth/login (15 minutes; renew it with "
        "POST /auth/refresh).",
    }
}

# Every header the API reads or sends, by name, as documented once.
HEADERS = {
    "Idempotency-Key": "Any unique string (at most 255 characters) per intended order: a retry "
    "with the same key and body returns the first result, another body with it is a 409 "
    "`idempotency_conflict`.",
    "X-Cart-Token": "A guest's cart: sent back by the API when a guest cart is created; send it "
    "with every cart and checkout request, and to read a guest order.",
    "If-None-Match": "The `ETag` of a catalog answer you hold: a 304 without body if unchanged.",
    "X-Request-ID": "Correlates the request with the server's logs (made up when not sent).",
    "ETag": "Strong validator of a catalog answer (send it back as If-None-Match).",
    "Cache-Control": "How long the catalog answer may be reused (`public, max-age=<seconds>`).",
    "Location": "Where to poll the created resource, e.g. `/api/v1/orders/{id}`.",
    "Retry-After": "Seconds to wait before trying again.",
    "X-Search-Backend": "The engine that answered: `postgres` or `elasticsearch` (PostgreSQL "
    "answers while Elasticsearch is unreachable or its index is missing or being rebuilt).",
}
REQUEST_HEADERS_EVERYWHERE = ("X-Request-ID",)
RESPONSE_HEADERS_EVERYWHERE = ("X-Request-ID",)


def _all_error_classes(cls=DomainError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_error_classes(sub)


# Ids views declare by hand as (status, id), e.g. an abort() with its own id.
_DECLARED_IDS: set[str] = set()


def all_error_ids() -> list[str]:
    ids = set(ERROR_IDS.values()) | {cls.error for cls in _all_error_classes()} | _DECLARED_IDS
    return sorted(ids)


class ErrorSchema(Schema):
    """The body of every 4xx and 5xx answer."""

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    status = fields.String(required=True, metadata={"description": "The HTTP status phrase."})
    message = fields.String(
        required=True, metadata={"description": "What went wrong, for a person to act on."}
    )
    error = fields.String(required=True)  # its description lists every id (see register)
    errors = fields.Dict(
        metadata={
            "description": "Details. For `validation_error`: messages by location and field, "
            'e.g. `{"query": {"gnere": ["Unknown field."]}}`; for other ids, what the error '
            'is about, e.g. `{"book_id": ..., "requested": 20, "available": 16}`.'
        }
    )


def _status_and_id(entry) -> tuple[int, str]:
    if isinstance(entry, tuple):
        _DECLARED_IDS.add(entry[1])
        return entry
    if isinstance(entry, str):
        status = next(code for code, name in ERROR_IDS.items() if name == entry)
        return status, entry
    return status_for_class(entry), entry.error


class ContractPlugin(BasePlugin):
    """Rewrites each operation from its ``x-contract`` (see ``app.api.base.Blueprint``)."""

    def init_spec(self, spec):
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            finish_operation(path or "", operation)
        # Every service module is imported by now: list every id the API can answer.
        error = self.spec.components.schemas.get("Error", {}).get("properties", {}).get("error")
        if error is not None:
            error["description"] = (
                "Stable error id, one of: " + ", ".join(f"`{i}`" for i in all_error_ids()) + "."
            )


def finish_operation(path: str, operation: dict) -> None:
    contract = operation.pop("x-contract", None) or {}
    responses = operation.setdefault("responses", {})
    responses.pop("default", None)
    errors: dict[int, set[str]] = {}
    descriptions: dict[int, str] = {}
    known_ids = set(all_error_ids())
    for code, response in list(responses.items()):
        status = int(code)
        if status >= 400:
            ids = errors.setdefault(status, set())
            if isinstance(response, dict) and response.get("description"):
                descriptions[status] = response["description"]
                # ids a hand-written alt_response names ("`already_retried`: ...")
                ids.update(
                    set(re.findall(r"[a-z]+(?:_[a-z]+)+|[a-z]+", response["description"]))
                    & known_ids
                )
            del responses[code]
    for entry in contract.get("errors", []):
        status, error_id = _status_and_id(entry)
        errors.setdefault(status, set()).add(error_id)
    # Every operation refuses unknown query parameters (and body fields) by name.
    errors.setdefault(422, set()).add("validation_error")
    if "requestBody" in operation:
        # A JSON body that does not parse (NaN, too deep, a 5,000-digit number) is a 400, and
        # any body over MAX_CONTENT_LENGTH a 413, before the view runs.
        errors.setdefault(400, set()).add("bad_request")
        errors.setdefault(413, set()).add("payload_too_large")
    if any(
        isinstance(p, dict) and p.get("name") == "cursor" for p in operation.get("parameters", [])
    ):
        errors.setdefault(400, set()).add("invalid_cursor")
    if "{" in path:
        errors.setdefault(404, set())
    auth = contract.get("auth")
    if auth is None:
        operation["security"] = []
    else:
        errors.setdefault(401, set()).add("invalid_token")
        if auth:
            operation["security"] = [{BEARER: []}]
        else:
            operation["security"] = [{}, {BEARER: []}]
        if auth and auth != ["*"]:
            errors.setdefault(403, set()).add("forbidden")
    for status, ids in sorted(errors.items()):
        if not ids:
            ids.add(ERROR_IDS.get(status, "error"))
        responses[str(status)] = _error_response(status, sorted(ids), descriptions.get(status))
    for status, names in contract.get("response_headers", {}).items():
        response = responses.get(str(status))
        if isinstance(response, dict):
            response.setdefault("headers", {}).update({name: _header(name) for name in names})
    for response in responses.values():
        if isinstance(response, dict):
            headers = response.setdefault("headers", {})
            for name in RESPONSE_HEADERS_EVERYWHERE:
                headers.setdefault(name, _header(name))
    parameters = operation.setdefault("parameters", [])
    for name in (*contract.get("request_headers", []), *REQUEST_HEADERS_EVERYWHERE):
        parameters.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": HEADERS[name],
                "schema": {"type": "string", "maxLength": 255},
            }
        )


def _header(name: str) -> dict:
    return {"description": HEADERS[name], "schema": {"type": "string"}}


def _error_response(status: int, ids: list[str], description: str | None) -> dict:
    listed = ", ".join(f"`{error_id}`" for error_id in ids)
    text = f"{description.rstrip('.')}. " if description else ""
    response = {
        "description": f"{text}Error ids: {listed}.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": _header("Retry-After")}
    return response


def spec_options() -> dict:
    return {
        "components": {"securitySchemes": SECURITY_SCHEMES},
        "info": {
            "description": "The bookstore's REST API. Money is integer minor units (`*_cents`) "
            "with a `currency`; times are UTC ISO 8601; lists are `{items, next_cursor}`. "
            "Every error body is the `Error` schema; its `error` is a stable id."
        },
    }
