"""Swagger UI's scripts and styles, served by the app from the swagger-ui-bundle package so
that /docs works without internet (no CDN)."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"

blp = Blueprint("docs_assets", __name__)


@blp.get(f"{ASSETS_URL}<path:filename>")
def asset(filename: str):
    # send_from_directory refuses paths that leave the package's folder.
    return send_from_directory(swagger_ui_path, filename, max_age=24 * 3600)
