"""/docs works without internet: Swagger UI's assets are local and served by the app."""

from __future__ import annotations

import re
from urllib.parse import urlparse


def test_docs_reference_only_local_assets_and_they_are_served(client):
    # when the docs page is fetched
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # then every script and stylesheet it loads is on this server (no CDN)
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references, html
    for reference in references:
        assert not urlparse(reference).netloc, f"{reference} is not local"
    # and each of them is served, with the right content type
    for reference in references:
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.mimetype in ("text/css", "text/javascript", "application/javascript")
    # and the document it shows is served too
    assert client.get("/openapi.json").status_code == 200


def test_asset_paths_cannot_leave_the_package(client):
    assert client.get("/docs/assets/../../../../etc/passwd").status_code == 404
