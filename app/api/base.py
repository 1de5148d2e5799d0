"""The base Schema and Blueprint of every resource: unknown fields and parameters are refused.

Marshmallow schemas already raise on unknown keys, but webargs quietly drops unknown query
parameters and headers by default; ``StrictParser`` makes every location follow the schema's
``Meta.unknown`` (``RAISE``), so ``GET /books?gnere=fantasy`` is a 422 naming ``gnere``.
"""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint as _SmorestBlueprint
from flask_smorest import abort
from webargs.flaskparser import FlaskParser


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class StrictParser(FlaskParser):
    # None: let the schema decide (our schemas raise) rather than excluding silently.
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, None)


class Blueprint(_SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (endpoint, METHOD) of the operations that take no query parameters at all.
        self._without_query: set[tuple[str, str]] = set()
        self.before_request(self._refuse_unexpected_query)

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, with one schema instance for all requests: given a class, webargs
        builds a new instance per request (deep-copying every declared field)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def _refuse_unexpected_query(self):
        """An operation without query parameters refuses any, by name, like the others."""
        if not request.args:
            return
        if (request.endpoint.rpartition(".")[2], request.method) in self._without_query:
            abort(
                422,
                message="This operation takes no query parameters.",
                errors={"query": {name: ["Unknown field."] for name in request.args}},
            )

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        """flask-smorest's, plus each method's auth and ``contract`` as ``x-contract``, which
        ``app.api.openapi.ContractPlugin`` turns into security, error responses and headers."""
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        from app.auth import AUTH_ATTRIBUTE

        for method, doc in self._docs[endpoint].items():
            if method == "parameters":
                continue
            arguments = doc.get("arguments", {}).get("parameters", [])
            if not any(argument.get("in") == "query" for argument in arguments):
                self._without_query.add((endpoint, method.upper()))
            view = getattr(obj, method, None) if isinstance(obj, type) else obj
            # The method's own auth decorator, or one in the MethodView's `decorators`.
            marked = [view, *getattr(obj, "decorators", ())]
            auth = next(
                (getattr(f, AUTH_ATTRIBUTE) for f in marked if hasattr(f, AUTH_ATTRIBUTE)), None
            )
            extension = {
                "auth": list(auth) if auth is not None else None,
                **getattr(view, CONTRACT_ATTRIBUTE, {}),
            }
            doc.setdefault("manual_doc", {})["x-contract"] = extension


CONTRACT_ATTRIBUTE = "api_contract"


def contract(*errors, request_headers=(), response_headers=None):
    """Declare what an operation can answer beyond its success body, for the OpenAPI document:
    ``errors`` are the domain error classes its services raise (their status and id come from
    ``app.errors``) or plain ids; ``request_headers`` and ``response_headers`` ({status: names})
    name the headers of ``app.api.openapi.HEADERS`` it reads and sends."""

    def decorate(view):
        info = view.__dict__.setdefault(
            CONTRACT_ATTRIBUTE, {"errors": [], "request_headers": [], "response_headers": {}}
        )
        info["errors"].extend(errors)
        info["request_headers"].extend(request_headers)
        for status, names in (response_headers or {}).items():
            info["response_headers"].setdefault(status, []).extend(names)
        return view

    return decorate
