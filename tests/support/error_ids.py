"""Every error an operation answers must be one its OpenAPI operation declares, with its id.

While a test runs, each answer the app gives (test client, in process) with a status >= 400
and an ``error`` id is looked up in the document: the operation (method and path template of
the matched route) must declare that status, and that status's description must list the id.
So every API test that provokes an error also checks the document says so."""

from __future__ import annotations

import re
from functools import cache

from flask import Flask, request, request_finished

# Areas whose declarations other engineers own (checked there, not by this watch yet).
NOT_WATCHED = (
    "/api/v1/webhooks/stripe",
    "/api/v1/admin/reports",
    "/api/v1/orders/{order_id}/payment",
    "/api/v1/orders/{order_id}/refunds",
)
_RULE_PART = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@cache
def documented(app: Flask) -> dict[tuple[str, str], dict[int, set[str]]]:
    """{(METHOD, path template): {status: declared ids}} from the app's OpenAPI document."""
    from app.extensions import api

    with app.app_context():
        document = api.spec.to_dict()
    operations = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            operations[(method.upper(), path)] = {
                int(status): set(re.findall(r"`([a-z_]+)`", answer["description"]))
                for status, answer in operation["responses"].items()
                if int(status) >= 400
            }
    return operations


class ErrorIdWatch:
    """Collects the undocumented (operation, status, id) answers given while connected."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.undocumented: list[str] = []

    def __enter__(self) -> ErrorIdWatch:
        request_finished.connect(self._check, self.app)
        return self

    def __exit__(self, *exc) -> None:
        request_finished.disconnect(self._check, self.app)

    def _check(self, sender, response, **extra) -> None:
        if response.status_code < 400 or request.url_rule is None:
            return
        path = _RULE_PART.sub(r"{\1}", request.url_rule.rule)
        if not path.startswith("/api/v1/") or path.startswith(NOT_WATCHED):
            return
        body = response.get_json(silent=True) or {}
        error_id = body.get("error") if isinstance(body, dict) else None
        operation = documented(self.app).get((request.method, path))
        if operation is None or error_id is None:
            return
        if error_id not in operation.get(response.status_code, set()):
            self.undocumented.append(
                f"{request.method} {path} answered {response.status_code} `{error_id}`, "
                f"the document declares { ({s: sorted(i) for s, i in operation.items()}) }"
            )
