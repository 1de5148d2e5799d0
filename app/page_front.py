"""The page front: a cached public catalog or search page served as the bytes Flask sent for the
same URL, before Flask routes the request.

A cached read through Flask costs ~300 us of CPU per request here, of which the page itself (one
Redis ``MGET``) is a small part: the rest is routing, twenty request hooks, the rate limiter
resolving that no limit applies, and the query schema (docs/performance.md, "The page front").
So when Flask answers a cacheable page (``catalog_response`` with a namespace in NAMESPACES)
for a request with no credentials and no conditional or CORS headers, this WSGI middleware
keeps the whole answer (status 200, every header but the request id, the body) under a key
made of the raw path and query string. The next identical request is answered here from one
``MGET`` of the catalog generations and that entry, with the same staleness rule as the page
cache (``catalog_cache.still_good``), a fresh ``X-Request-ID``, the access-log line and the
HTTP metrics. Anything else, and any entry that is missing or stale, goes to Flask.

Only a URL that Flask answered with 200 has an entry, so validation (unknown parameters, edge
guard, 4xx) is Flask's alone. Switched off by CATALOG_FRONT=false, and off whenever a rate limit
applies to every route (RATELIMIT_DEFAULT / RATELIMIT_APPLICATION) or tracing is on, since the
front would bypass both."""

from __future__ import annotations

import hashlib
import json
import logging
import time

import redis

from app import metrics, request_log
from services.catalog import cache as catalog_cache
from services.observability import context as log_context
from services.observability import tracing

log = logging.getLogger(__name__)

# The catalog_response namespaces whose body depends on nothing but the URL and the catalog
# generations (not recommendations: their keys carry build versions the URL does not show;
# not search answered by Elasticsearch: a fallback must not be hidden behind an old entry).
NAMESPACES = frozenset(
    {"books", "book", "authors", "author", "genres", "languages"}
    | {"search.postgres", "suggest.postgres"}
)
# Requests whose answer may differ from, or must not come from, a stored public page.
_BYPASS_HEADERS = (
    "HTTP_AUTHORIZATION",
    "HTTP_X_CART_TOKEN",
    "HTTP_IF_NONE_MATCH",
    "HTTP_ORIGIN",
    "HTTP_IDEMPOTENCY_KEY",
    "HTTP_COOKIE",
)
_PREFIX = "/api/v1/"
_MAX_URL = 2048
_KEY = "bookstore.page_front.key"  # environ: the front asks Flask for this URL's answer
_OFFER = "bookstore.page_front.offer"  # environ: (page header, endpoint) Flask answered with
_NOT_KEPT = {"x-request-id"}  # an answer setting a cookie is never kept at all


def offer(environ: dict, page_header: str, endpoint: str | None) -> None:
    """Called by catalog_response: this request is answered with the cached page
    ``page_header`` describes (kept by the front only if the front asked for it)."""
    if _KEY in environ:
        environ[_OFFER] = (page_header, endpoint or "unmatched")


class PageFront:
    def __init__(self, app, config):
        self.app = app
        self.config = config  # read per request, as catalog_response does

    def __call__(self, environ, start_response):
        key = _key(environ)
        if key is None:
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            generation, stock_generation, stored = catalog_cache.read_page(
                key, catalog_cache.FRONT_PREFIX
            )
        except redis.RedisError:
            return self.app(environ, start_response)  # Flask serves it (and says why)
        staleness = self.config["CATALOG_STOCK_STALENESS_SECONDS"]
        entry = _decode(stored, generation, stock_generation, staleness)
        if entry is None:
            environ[_KEY] = key
            return self._through_flask(environ, start_response, key)
        endpoint, headers, body = entry
        request_id = request_log.request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        token = log_context.bind(request_id=request_id)
        try:
            start_response("200 OK", [*headers, ("X-Request-ID", request_id)])
            elapsed_ms = (time.perf_counter() - started) * 1000
            request_log.log_access("GET", environ.get("PATH_INFO", ""), 200, elapsed_ms)
            metrics.observe_request("GET", endpoint, 200, started)
        finally:
            log_context.reset(token)
        return [body]

    def _through_flask(self, environ, start_response, key: str):
        answered = {}

        def capture(status, headers, exc_info=None):
            answered["status"], answered["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        offered = environ.get(_OFFER)
        if offered is None or not answered.get("status", "").startswith("200 "):
            return chunks
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        headers = answered["headers"]
        if any(name.lower() == "set-cookie" for name, _ in headers):
            return [body]
        page_header, endpoint = offered
        kept = [[name, value] for name, value in headers if name.lower() not in _NOT_KEPT]
        described = json.dumps([endpoint, kept], separators=(",", ":"))
        try:
            catalog_cache.store_page(
                key,
                f"{page_header}\n{described}\n".encode() + body,
                self.config["CACHE_DEFAULT_TIMEOUT"],
                catalog_cache.FRONT_PREFIX,
            )
        except redis.RedisError:
            log.warning("page front write failed", exc_info=True)
        return [body]


def _key(environ) -> str | None:
    """The entry key of a request the front may answer, else None."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if not path.startswith(_PREFIX) or len(path) + len(query) > _MAX_URL:
        return None
    if any(name in environ for name in _BYPASS_HEADERS):
        return None
    url = f"{path}?{query}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(url).hexdigest()[:40]


def _decode(stored: bytes | None, generation: int, stock_generation: int, staleness: float):
    """(endpoint, headers, body) of a stored entry still good for these generations."""
    if not stored:
        return None
    header, _, rest = stored.partition(b"\n")
    described, _, body = rest.partition(b"\n")
    try:
        if not catalog_cache.still_good(header.decode(), generation, stock_generation, staleness):
            return None
        endpoint, headers = json.loads(described)
    except ValueError:  # not an entry of this format: Flask answers and replaces it
        return None
    return endpoint, [(name, value) for name, value in headers], body


def install(flask_app) -> None:
    """Put the front before Flask, unless switched off or something must see every request."""
    config = flask_app.config
    if not config["CATALOG_FRONT"] or tracing.enabled():
        return
    if config.get("RATELIMIT_DEFAULT") or config.get("RATELIMIT_APPLICATION"):
        return
    flask_app.wsgi_app = PageFront(flask_app.wsgi_app, config)
