"""Book covers: staff get an upload URL (presigned S3 PUT, or this API in local storage)."""

from __future__ import annotations

import uuid

from flask import current_app, request, send_file
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.base import Blueprint, Schema
from app.api.books_staff import StaffBookSchema
from app.auth import require_user, staff_required
from services.catalog import admin as catalog_admin
from services.catalog import covers

blp = Blueprint("covers", __name__, description="Staff: book cover uploads.")


class CoverRequestSchema(Schema):
    content_type = fields.String(
        required=True, metadata={"description": "image/jpeg, image/png or image/webp"}
    )


class CoverUploadSchema(Schema):
    upload_url = fields.String()
    method = fields.String()
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    cover_url = fields.String()
    expires_in = fields.Integer()


@blp.route("/books/<uuid:book_id>/cover")
class Cover(MethodView):
    decorators = [staff_required]

    @blp.arguments(CoverRequestSchema)
    @blp.response(201, CoverUploadSchema)
    @blp.alt_response(404, description="not_found")
    def post(self, body, book_id: uuid.UUID):
        """Get a URL to PUT the cover image to (send the given headers) (staff)."""
        return covers.start_upload(
            require_user().id, book_id, body["content_type"], current_app.config
        )


class UploadTokenArgs(Schema):
    token = fields.String(
        required=True,
        validate=validate.Length(1, 1024),
        metadata={"description": "The token of the upload URL POST /books/{id}/cover gave."},
    )


@blp.route("/books/<uuid:book_id>/cover/upload")
class CoverUpload(MethodView):
    @blp.arguments(UploadTokenArgs, location="query")
    @blp.response(200, StaffBookSchema)
    @blp.alt_response(400, description="invalid_token")
    @blp.alt_response(413, description="`payload_too_large`: over COVER_MAX_BYTES.")
    def put(self, args, book_id: uuid.UUID):
        """Local storage only: the raw image body, authorised by the token in the URL."""
        # Refuse oversized bodies (413) before reading them into memory.
        request.max_content_length = current_app.config["COVER_MAX_BYTES"]
        book = covers.store_local_upload(
            book_id,
            args["token"],
            request.mimetype,
            request.get_data(cache=False),
            current_app.config,
        )
        return catalog_admin.snapshot(book)


@blp.route("/covers/<string:name>")
class CoverFile(MethodView):
    def get(self, name: str):
        """A cover image stored locally."""
        path, content_type = covers.local_cover(name, current_app.config)
        return send_file(path, mimetype=content_type, max_age=86400)
