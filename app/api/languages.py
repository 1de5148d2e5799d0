"""Languages of the catalog with how many active books each has (the valid `language` codes)."""

from __future__ import annotations

from flask.views import MethodView

from app.api.base import Blueprint, contract
from app.api.catalog_http import CATALOG_HEADERS, catalog_response
from app.api.catalog_schemas import LanguageListSchema
from services.catalog import reads as catalog

blp = Blueprint("languages", __name__, description="Languages of the catalog.")


@blp.route("/languages")
class Languages(MethodView):
    @blp.response(200, LanguageListSchema)
    @contract(**CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self):
        """Every language code in use, most books first, with its count (one page)."""
        return catalog_response(
            "languages",
            {},
            lambda: LanguageListSchema().dump(
                {"items": catalog.list_languages(), "next_cursor": None}
            ),
        )
