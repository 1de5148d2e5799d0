"""Staff catalog management: create, change and archive books; create genres and authors.

The public read endpoints of the same URLs live in app/api/books.py."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.base import Blueprint, Schema, contract
from app.api.fields import Int
from app.auth import require_user, staff_required
from services.catalog import admin as catalog_admin
from services.search import freshness as search_freshness
from tasks.chains import send_recorded

MAX_PRICE_CENTS = 10_000_000

blp = Blueprint(
    "books_staff", __name__, description="Staff: manage the catalog (audited, cache-busting)."
)


class StaffBookInSchema(Schema):
    isbn13 = fields.String(allow_none=True, metadata={"example": "978-0-306-40615-7"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    description = fields.String(allow_none=True)
    language = fields.String(allow_none=True, validate=validate.Length(max=16))
    publication_year = Int(minimum=-3000, maximum=2100, allow_none=True)
    page_count = Int(minimum=1, maximum=100000, allow_none=True)
    # At most 100,000.00: an order's totals stay within their integer columns.
    price_cents = Int(
        minimum=0,
        maximum=MAX_PRICE_CENTS,
        range_error=f"The price must be 0 or more and at most {MAX_PRICE_CENTS} (minor units).",
        required=True,
    )
    currency = fields.String(validate=validate.Regexp(r"^[A-Za-z]{3}$"))
    status = fields.String(
        validate=validate.OneOf(["active", "archived"]),
        metadata={"description": "archived books leave browsing; set active to restore"},
    )
    genres = fields.List(fields.String(), metadata={"description": "genre slugs"})
    author_ids = fields.List(fields.UUID())
    author_names = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)),
        metadata={"description": "authors by name, created when new"},
    )


class StaffBookPatchSchema(StaffBookInSchema):
    """Any subset of the book fields (used with partial=True)."""


class StaffBookSchema(Schema):
    id = fields.String()
    isbn13 = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    publication_year = fields.Integer(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    price_cents = fields.Integer()
    currency = fields.String()
    cover_url = fields.String(allow_none=True)
    status = fields.String()
    authors = fields.List(fields.Dict())
    genres = fields.List(fields.String())


class StaffGenreInSchema(Schema):
    slug = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StaffGenreSchema(StaffGenreInSchema):
    id = fields.UUID(dump_only=True)


class StaffAuthorInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))


class StaffAuthorSchema(StaffAuthorInSchema):
    id = fields.UUID(dump_only=True)


@blp.route("/books")
class StaffBooks(MethodView):
    decorators = [staff_required]

    @blp.arguments(StaffBookInSchema)
    @blp.response(201, StaffBookSchema)
    @contract(
        catalog_admin.InvalidIsbn,
        catalog_admin.UnknownGenre,
        catalog_admin.UnknownAuthor,
        catalog_admin.IsbnTaken,
    )
    def post(self, body):
        """Add a book (staff)."""
        book = catalog_admin.create_book(
            require_user().id, body, current_app.config["DEFAULT_CURRENCY"]
        )
        _send_reindex()
        return catalog_admin.snapshot(book)


@blp.route("/books/<uuid:book_id>")
class StaffBookById(MethodView):
    decorators = [staff_required]

    @blp.arguments(StaffBookPatchSchema(partial=True))
    @blp.response(200, StaffBookSchema)
    @contract(
        catalog_admin.BookNotFound,
        catalog_admin.InvalidIsbn,
        catalog_admin.UnknownGenre,
        catalog_admin.UnknownAuthor,
        catalog_admin.IsbnTaken,
    )
    def patch(self, body, book_id: uuid.UUID):
        """Change a book: price, metadata, genres, authors (staff)."""
        book = catalog_admin.update_book(require_user().id, book_id, body)
        _send_reindex()
        return catalog_admin.snapshot(book)

    @blp.response(200, StaffBookSchema)
    @blp.alt_response(404, description="not_found")
    def delete(self, book_id: uuid.UUID):
        """Archive a book: it leaves browsing, orders keep it (staff)."""
        book = catalog_admin.archive_book(require_user().id, book_id)
        _send_reindex()
        return catalog_admin.snapshot(book)


@blp.route("/genres")
class StaffGenres(MethodView):
    decorators = [staff_required]

    @blp.arguments(StaffGenreInSchema)
    @blp.response(201, StaffGenreSchema)
    @blp.alt_response(409, description="genre_exists")
    def post(self, body):
        """Add a genre (staff)."""
        return catalog_admin.create_genre(require_user().id, body["slug"], body["name"])


@blp.route("/authors")
class StaffAuthors(MethodView):
    decorators = [staff_required]

    @blp.arguments(StaffAuthorInSchema)
    @blp.response(201, StaffAuthorSchema)
    @blp.alt_response(409, description="author_exists")
    def post(self, body):
        """Add an author (staff)."""
        return catalog_admin.create_author(require_user().id, body["name"])


def _send_reindex() -> None:
    """After the commit: wake the search reindexer for what the change recorded."""
    send_recorded(current_app.extensions["celery"], search_freshness.take_recorded())
