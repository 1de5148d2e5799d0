"""Authors: search by name and author detail with their books."""

from __future__ import annotations

import uuid

from flask.views import MethodView

from app.api.base import Blueprint, contract
from app.api.catalog_http import CATALOG_HEADERS, catalog_response
from app.api.catalog_schemas import AuthorDetailSchema, AuthorPageSchema, AuthorSearchArgs
from services.catalog import reads as catalog
from services.search.authors import search_authors

blp = Blueprint("authors", __name__, description="Authors of the catalog.")


@blp.route("/authors")
class Authors(MethodView):
    @blp.arguments(AuthorSearchArgs, location="query")
    @blp.response(200, AuthorPageSchema)
    @blp.alt_response(400, description="`invalid_cursor`: forged or malformed cursor.")
    @contract(**CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self, args):
        """Authors by name; with `q`, those whose name holds its words, most relevant first
        (whole words before parts of words, then the most read; a typo is corrected)."""
        search = search_authors if (args["q"] or "").strip() else catalog.search_authors

        def produce():
            page = search(
                args["q"],
                limit=args["limit"],
                cursor=args["cursor"],
            )
            return AuthorPageSchema().dump(page)

        return catalog_response("authors", args, produce)


@blp.route("/authors/<uuid:author_id>")
class AuthorById(MethodView):
    @blp.response(200, AuthorDetailSchema)
    @blp.alt_response(404, description="`not_found`: no author with this id.")
    @contract(**CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self, author_id: uuid.UUID):
        """One author with their best-selling active books."""
        return catalog_response(
            "author",
            {"id": author_id},
            lambda: AuthorDetailSchema().dump(catalog.get_author(author_id)),
        )
