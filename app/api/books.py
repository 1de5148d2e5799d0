"""Books: the catalog list (filters, sorts, cursor pages) and book detail."""

from __future__ import annotations

import uuid

from flask.views import MethodView

from app.api import examples
from app.api.base import Blueprint, contract
from app.api.catalog_http import CATALOG_HEADERS, catalog_response
from app.api.catalog_schemas import BookDetailSchema, BookListArgs, BookPageSchema
from services.catalog import reads as catalog
from services.catalog.reads import UnknownLanguage

blp = Blueprint("books", __name__, description="The book catalog.")


@blp.route("/books")
class Books(MethodView):
    @blp.arguments(BookListArgs, location="query")
    @blp.response(200, BookPageSchema, example=examples.BOOK_PAGE)
    @blp.alt_response(400, description="`invalid_cursor`: forged, malformed or other sort.")
    @contract(UnknownLanguage, **CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self, args):
        """List active books: filter, sort and page with a cursor."""
        filters = catalog.BookFilters(
            genre=args["genre"],
            author=args["author"],
            language=args["language"],
            price_min=args["price_min"],
            price_max=args["price_max"],
            in_stock=args["in_stock"],
        )

        def produce():
            page = catalog.list_books(
                filters,
                sort=args["sort"],
                limit=args["limit"],
                cursor=args["cursor"],
            )
            return BookPageSchema().dump(page)

        return catalog_response("books", args, produce)


@blp.route("/books/<uuid:book_id>")
class BookById(MethodView):
    @blp.response(200, BookDetailSchema, example=examples.BOOK)
    @blp.alt_response(404, description="`not_found`: no active book with this id.")
    @contract(**CATALOG_HEADERS)
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
    def get(self, book_id: uuid.UUID):
        """One book with description, availability and rating summary."""
        return catalog_response(
            "book",
            {"id": book_id},
            lambda: BookDetailSchema().dump(catalog.get_book(book_id)),
        )
