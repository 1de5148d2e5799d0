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


def test_docs_policy_allows_no_inline_code_and_the_page_has_none(client):
    # when the docs page is fetched
    page = client.get("/docs")
    policy = page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    # then its policy allows scripts and styles from this server only, nothing inline
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # and the page needs none: every script has a src, no <style> element or style attribute
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and "style=" not in html and "onload" not in html
    # and the start script is served and starts Swagger UI on the page's container
    init = client.get("/docs/swagger-init.js")
    assert init.status_code == 200 and init.mimetype == "text/javascript"
    body = init.get_data(as_text=True)
    assert "SwaggerUIBundle(config)" in body and "swagger-ui-container" in body
    assert 'data-spec-url="/openapi.json"' in html
