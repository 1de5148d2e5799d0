"""Genres with how many active books each holds."""

from __future__ import annotations

from flask.views import MethodView

from app.api.base import Blueprint, contract
from app.api.catalog_http import CATALOG_HEADERS, catalog_response
from app.api.catalog_schemas import GenreListSchema
from services.catalog import reads as catalog

blp = Blueprint("genres", __name__, description="Genres of the catalog.")


@blp.route("/genres")
class Genres(MethodView):
    @blp.response(200, GenreListSchema)
    @contract(**CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self):
        """Every genre with its count of active books (one page)."""
        return catalog_response(
            "genres",
            {},
            lambda: GenreListSchema().dump({"items": catalog.list_genres(), "next_cursor": None}),
        )
