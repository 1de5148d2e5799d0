"""Marshmallow schemas of search: query arguments, the result page, facets and suggestions."""

from __future__ import annotations

from marshmallow import RAISE, ValidationError, fields, validate, validates_schema

from app.api.base import Schema
from app.api.catalog_schemas import BookSchema, PageArgs
from services.search.backend import SORTS, SUGGEST_LIMIT
from services.search.text import MAX_QUERY_LENGTH


class _QueryText(fields.String):
    """`q`: trimmed, then 1 to 200 characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class SearchArgs(PageArgs):
    class Meta:
        unknown = RAISE

    q = _QueryText(
        required=True,
        validate=validate.Length(min=1, max=MAX_QUERY_LENGTH),
        metadata={"description": "Words to search for (plain text; 1-200 characters)."},
    )
    genre = fields.String(load_default=None, metadata={"description": "Genre slug."})
    author = fields.UUID(load_default=None, metadata={"description": "Author id."})
    language = fields.String(
        load_default=None, validate=validate.Length(max=16), metadata={"description": "e.g. `en`."}
    )
    price_min = fields.Integer(load_default=None, validate=validate.Range(min=0))
    price_max = fields.Integer(load_default=None, validate=validate.Range(min=0))
    rating_min = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=5),
        metadata={"description": "Average rating at least this (0-5)."},
    )
    in_stock = fields.Boolean(load_default=None)
    sort = fields.String(
        load_default="relevance",
        validate=validate.OneOf(SORTS),
        metadata={"description": "One of " + ", ".join(SORTS) + "."},
    )

    @validates_schema
    def check_price_range(self, data, **kwargs):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("price_min must not exceed price_max.", "price_min")


class SuggestArgs(Schema):
    class Meta:
        unknown = RAISE

    q = _QueryText(required=True, validate=validate.Length(min=1, max=MAX_QUERY_LENGTH))
    limit = fields.Integer(
        load_default=SUGGEST_LIMIT, validate=validate.Range(min=1, max=SUGGEST_LIMIT)
    )


class HighlightSchema(Schema):
    title = fields.String(metadata={"description": "The title, matched words in <mark>."})
    description = fields.String(metadata={"description": "A matching passage, HTML-escaped."})


class SearchHitSchema(BookSchema):
    highlight = fields.Nested(HighlightSchema)


class ValueCountSchema(Schema):
    value = fields.String()
    count = fields.Integer()


class PriceBandSchema(Schema):
    from_cents = fields.Integer()
    to_cents = fields.Integer(allow_none=True, metadata={"description": "Exclusive; null: open."})
    count = fields.Integer()


class RatingBucketSchema(Schema):
    min = fields.Integer()
    count = fields.Integer()


class FacetsSchema(Schema):
    genres = fields.List(fields.Nested(ValueCountSchema))
    languages = fields.List(fields.Nested(ValueCountSchema))
    price = fields.List(fields.Nested(PriceBandSchema))
    rating = fields.List(fields.Nested(RatingBucketSchema))


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(SearchHitSchema))
    total = fields.Integer(metadata={"description": "Exact up to 10,000; see total_is_exact."})
    total_is_exact = fields.Boolean(metadata={"description": "False: total is a lower bound."})
    facets = fields.Nested(FacetsSchema)
    next_cursor = fields.String(allow_none=True)
    did_you_mean = fields.String(allow_none=True)


class SuggestionSchema(Schema):
    type = fields.String(metadata={"description": "book or author"})
    id = fields.UUID()
    text = fields.String()


class SuggestionListSchema(Schema):
    items = fields.List(fields.Nested(SuggestionSchema))


class SearchStatusSchema(Schema):
    backend = fields.String()
    reachable = fields.Boolean()
    books_active = fields.Integer()
    documents_indexed = fields.Integer(allow_none=True)
    postgres_documents = fields.Integer()
    backlog = fields.Integer(metadata={"description": "Reindex requests not applied yet."})
    oldest_backlog_age_seconds = fields.Float(allow_none=True)
    last_full_rebuild_at = fields.DateTime(allow_none=True)
    last_consistency_run_at = fields.DateTime(allow_none=True)
    rebuild = fields.Nested(
        "SearchRebuildProgressSchema",
        allow_none=True,
        metadata={"description": "The full rebuild under way, if any."},
    )


class SearchRebuildProgressSchema(Schema):
    run_id = fields.UUID()
    done = fields.Integer()
    total = fields.Integer(allow_none=True)


class SearchRebuildRequestedSchema(Schema):
    job = fields.String(metadata={"description": "search_rebuild"})
    run_id = fields.UUID(metadata={"description": "The run: GET /admin/jobs/search_rebuild."})
    task_id = fields.String()
