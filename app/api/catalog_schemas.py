"""Marshmallow schemas of the catalog: query arguments and the book, genre and author bodies."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from app.api.fields import Int
from services.catalog.reads import BOOK_SORTS, DEFAULT_BOOK_SORT

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class PageArgs(Schema):
    @pre_load
    def drop_empty_values(self, data, **kwargs):
        """``?genre=&cursor=`` (as forms send them) mean "not given"."""
        return {name: value for name, value in data.items() if value != ""}

    limit = Int(
        minimum=1,
        maximum=MAX_LIMIT,
        load_default=DEFAULT_LIMIT,
        metadata={"description": f"Items per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        load_default=None,
        metadata={"description": "The `next_cursor` of the previous page."},
    )


class BookListArgs(PageArgs):
    genre = fields.String(
        load_default=None,
        metadata={"description": "Genre slug (an unknown slug lists nothing)."},
    )
    author = fields.UUID(load_default=None, metadata={"description": "Author id."})
    language = fields.String(
        load_default=None, metadata={"description": "ISO 639-1 language code, e.g. `en`."}
    )
    price_min = Int(minimum=0, load_default=None)
    price_max = Int(minimum=0, load_default=None)
    in_stock = fields.Boolean(load_default=None)
    sort = fields.String(
        load_default=DEFAULT_BOOK_SORT,
        validate=validate.OneOf(list(BOOK_SORTS)),
        metadata={"description": "One of " + ", ".join(BOOK_SORTS) + "."},
    )

    @validates_schema
    def check_price_range(self, data, **kwargs):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("price_min must not exceed price_max.", "price_min")


class AuthorSearchArgs(PageArgs):
    q = fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "Part of the author's name, any case."},
    )


class AuthorRefSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class AvailabilitySchema(Schema):
    in_stock = fields.Boolean()
    available = fields.Integer()


class RatingSummarySchema(Schema):
    average = fields.Float()
    count = fields.Integer()


class BookSchema(Schema):
    id = fields.UUID()
    isbn13 = fields.String(allow_none=True)
    title = fields.String()
    authors = fields.List(fields.Nested(AuthorRefSchema))
    genres = fields.List(fields.String(), metadata={"description": "Genre slugs."})
    language = fields.String(allow_none=True)
    publication_year = fields.Integer(allow_none=True)
    price_cents = fields.Integer()
    currency = fields.String()
    cover_url = fields.String(allow_none=True)
    average_rating = fields.Float()
    ratings_count = fields.Integer()
    availability = fields.Nested(AvailabilitySchema)


class BookDetailSchema(BookSchema):
    description = fields.String(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    rating = fields.Nested(RatingSummarySchema)
    rating_histogram = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": 'Ratings per star, "1" to "5"; adds up to ratings_count.'},
    )


class BookPageSchema(Schema):
    items = fields.List(fields.Nested(BookSchema))
    next_cursor = fields.String(allow_none=True)


class GenreSchema(Schema):
    slug = fields.String()
    name = fields.String()
    books_count = fields.Integer(metadata={"description": "Active books in this genre."})


class GenreListSchema(Schema):
    items = fields.List(fields.Nested(GenreSchema))
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Always null: every genre is on one page."}
    )


class AuthorSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    books_count = fields.Integer(metadata={"description": "Active books by this author."})


class AuthorPageSchema(Schema):
    items = fields.List(fields.Nested(AuthorSchema))
    next_cursor = fields.String(allow_none=True)


class AuthorDetailSchema(AuthorSchema):
    books = fields.List(
        fields.Nested(BookSchema),
        metadata={"description": "Best-selling books first, at most 100; see /books?author=."},
    )
