"""Search: full-text book search with filters and facets, and as-you-type suggestions."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import current_app
from flask.views import MethodView
from marshmallow import RAISE

from app.api import examples
from app.api.base import Blueprint, contract
from app.api.catalog_http import CATALOG_HEADERS, catalog_response
from app.api.search_schemas import (
    SearchArgs,
    SearchPageSchema,
    SearchRebuildRequestedSchema,
    SearchStatusSchema,
    SuggestArgs,
    SuggestionListSchema,
)
from app.auth import require_user, staff_required
from models import db
from services.ops import audit
from services.search import consistency, engine, rebuild
from services.search.backend import SearchFilters, SearchRequest, SearchUnavailable

blp = Blueprint("search", __name__, description="Full-text search of the catalog.")

BACKEND_HEADER = "X-Search-Backend"
# Answers come from the catalog cache (ETag, 304) and name the engine that answered.
SEARCH_HEADERS = {
    "request_headers": CATALOG_HEADERS["request_headers"],
    "response_headers": {
        status: [*names, BACKEND_HEADER]
        for status, names in CATALOG_HEADERS["response_headers"].items()
    },
}


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs(), location="query", unknown=RAISE)
    @blp.response(200, SearchPageSchema, example=examples.SEARCH_PAGE)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    @blp.alt_response(400, description="`invalid_cursor`: forged, or from another search.")
    @blp.alt_response(422, description="`validation_error`: bad or unknown parameter.")
    @contract(**SEARCH_HEADERS)
    def get(self, args):
        """Search books by words, with filters, facets, a sort and cursor pages."""
        backend = _serving()
        request = SearchRequest(
            q=args["q"],
            filters=SearchFilters(
                genre=args["genre"],
                author=args["author"],
                language=args["language"],
                price_min=args["price_min"],
                price_max=args["price_max"],
                rating_min=None if args["rating_min"] is None else Decimal(str(args["rating_min"])),
                in_stock=args["in_stock"],
            ),
            sort=args["sort"],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return _answer(
            backend, args, lambda b: SearchPageSchema().dump(b.search(request)), "search"
        )


@blp.route("/search/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgs(), location="query", unknown=RAISE)
    @blp.response(200, SuggestionListSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    @blp.alt_response(422, description="`validation_error`: bad or unknown parameter.")
    @contract(**SEARCH_HEADERS)
    def get(self, args):
        """Completions of what the shopper is typing: book titles and authors, at most 10."""
        backend = _serving()
        return _answer(
            backend,
            args,
            lambda b: SuggestionListSchema().dump({"items": b.suggest(args["q"], args["limit"])}),
            "suggest",
        )


@blp.route("/admin/search")
class SearchStatus(MethodView):
    decorators = [staff_required]

    @blp.response(200, SearchStatusSchema)
    @blp.alt_response(403, description="`forbidden`: staff only.")
    def get(self):
        """The search index (staff): backend, documents vs active books, backlog and age."""
        backend = _backend()
        indexed = None
        if backend.name == "elasticsearch":
            try:
                indexed = backend.count()
            except SearchUnavailable:
                indexed = None
        status = consistency.status(backend.name, indexed)
        status["reachable"] = backend.name == "postgres" or indexed is not None
        status["rebuild"] = rebuild.progress()
        return status


@blp.route("/admin/search/reindex")
class SearchReindex(MethodView):
    decorators = [staff_required]

    @blp.response(202, SearchRebuildRequestedSchema)
    @blp.alt_response(403, description="`forbidden`: staff only.")
    @contract(rebuild.RebuildRunning)
    def post(self):
        """Rebuild the whole search index in the background (staff); follow the run at
        GET /admin/jobs/search_rebuild (counts: done, total)."""
        config = current_app.config
        run_id = rebuild.request(config["SEARCH_BACKEND"])
        sent = current_app.extensions["celery"].send_task(
            rebuild.TASK, args=(str(run_id),), queue="search"
        )
        requested = {"job": rebuild.JOB, "run_id": run_id, "task_id": sent.id}
        audit.record(require_user().id, "run", "job", rebuild.JOB, None, {"run_id": str(run_id)})
        db.session.commit()
        return requested


class _AnsweredByFallback(Exception):
    """PostgreSQL answered for an unreachable Elasticsearch: the body must not be cached
    under Elasticsearch's name (a later hit would claim that Elasticsearch answered it)."""

    def __init__(self, body: dict, name: str):
        super().__init__(name)
        self.body, self.name = body, name


def _answer(backend, args: dict, ask, kind: str):
    """The body from the cache or ``ask(backend)``, with the name of the engine that answered
    (X-Search-Backend); a fallback answer is sent uncached, ``no-store``."""

    def produce():
        body, name = engine.answer(backend, ask)
        if name != backend.name:
            raise _AnsweredByFallback(body, name)
        return body

    try:
        response = _respond(f"{kind}.{backend.name}", args, produce)
        response.headers[BACKEND_HEADER] = backend.name
    except _AnsweredByFallback as fallback:
        response = current_app.response_class(
            json.dumps(fallback.body, separators=(",", ":"), ensure_ascii=False),
            mimetype="application/json",
        )
        response.headers[BACKEND_HEADER] = fallback.name
        response.headers["Cache-Control"] = "no-store"
    return response


def _respond(namespace: str, args: dict, produce):
    """From the catalog cache (keyed by the catalog generation: any book change invalidates
    it), unless SEARCH_CACHE is off."""
    if current_app.config["SEARCH_CACHE"]:
        return catalog_response(namespace, args, produce)
    return current_app.response_class(
        json.dumps(produce(), separators=(",", ":"), ensure_ascii=False),
        mimetype="application/json",
    )


def _backend():
    """The configured backend (for its status)."""
    config = current_app.config
    return engine.backend_for(config["SEARCH_BACKEND"], config["ELASTICSEARCH_URL"])


def _serving():
    """The backend that answers searches now (PostgreSQL while Elasticsearch cannot)."""
    config = current_app.config
    return engine.serving(config["SEARCH_BACKEND"], config["ELASTICSEARCH_URL"])
