"""Search: full-text book search with filters and facets, and as-you-type suggestions."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.api.catalog_http import catalog_response
from app.api.search_schemas import (
    SearchArgs,
    SearchPageSchema,
    SuggestArgs,
    SuggestionListSchema,
)
from services.search.backend import SearchFilters, SearchRequest
from services.search.engine import backend_for

blp = Blueprint("search", __name__, description="Full-text search of the catalog.")

BACKEND_HEADER = "X-Search-Backend"


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs, location="query", unknown=RAISE)
    @blp.response(200, SearchPageSchema)
    @blp.alt_response(400, description="`invalid_cursor`: forged, or from another search.")
    @blp.alt_response(422, description="`validation_error`: bad or unknown parameter.")
    def get(self, args):
        """Search books by words, with filters, facets, a sort and cursor pages."""
        backend = backend_for(current_app.config["SEARCH_BACKEND"])
        request = SearchRequest(
            q=args["q"],
            filters=SearchFilters(
                genre=args["genre"],
                author=args["author"],
                language=args["language"],
                price_min=args["price_min"],
                price_max=args["price_max"],
                rating_min=args["rating_min"],
                in_stock=args["in_stock"],
            ),
            sort=args["sort"],
            limit=args["limit"],
            cursor=args["cursor"],
        )

        def produce():
            result = backend.search(request, secret=current_app.config["SECRET_KEY"])
            return SearchPageSchema().dump(result)

        response = catalog_response(f"search.{backend.name}", args, produce)
        response.headers[BACKEND_HEADER] = backend.name
        return response


@blp.route("/search/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgs, location="query", unknown=RAISE)
    @blp.response(200, SuggestionListSchema)
    @blp.alt_response(422, description="`validation_error`: bad or unknown parameter.")
    def get(self, args):
        """Completions of what the shopper is typing: book titles and authors, at most 10."""
        backend = backend_for(current_app.config["SEARCH_BACKEND"])

        def produce():
            return SuggestionListSchema().dump({"items": backend.suggest(args["q"], args["limit"])})

        response = catalog_response(f"suggest.{backend.name}", args, produce)
        response.headers[BACKEND_HEADER] = backend.name
        return response
