"""Swagger UI's scripts and styles, served by the app from the swagger-ui-bundle package so
that /docs works without internet (no CDN), and the script that starts it (a file, not an
inline script: /docs's Content-Security-Policy allows no inline code)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"
INIT_SCRIPT_DIR = Path(__file__).resolve().parent / "docs_static"

blp = Blueprint("docs_assets", __name__)


@blp.get(f"{ASSETS_URL}<path:filename>")
def asset(filename: str):
    # send_from_directory refuses paths that leave the package's folder.
    return send_from_directory(swagger_ui_path, filename, max_age=24 * 3600)


@blp.get("/docs/swagger-init.js")
def swagger_init():
    return send_from_directory(INIT_SCRIPT_DIR, "swagger-init.js", max_age=3600)
