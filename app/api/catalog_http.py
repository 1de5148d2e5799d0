"""HTTP caching of catalog reads: bodies cached in Redis under the catalog generation,
strong ETags, Cache-Control, and 304 answers to a matching If-None-Match."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import NamedTuple

import orjson
import redis
from flask import Response, current_app, request

from app import page_front
from services.catalog import cache as catalog_cache
from services.observability import metrics

log = logging.getLogger(__name__)

# The headers of every catalog read, for the OpenAPI document (app.api.base.contract).
CATALOG_HEADERS = {
    "request_headers": ["If-None-Match"],
    "response_headers": {200: ["ETag", "Cache-Control"], 304: ["ETag", "Cache-Control"]},
}


def catalog_response(
    namespace: str,
    params: Mapping,
    produce: Callable[[], dict],
    timeout: int | None = None,
    cached: bool = True,
) -> Response:
    """Answer a catalog GET from the cache, or from ``produce()`` (then cache the body).

    ``params`` must hold every input the body depends on (the normalised query and path).
    A stored page carries the catalog generation it was built under, so
    ``catalog_cache.invalidate()`` makes every cached body stale at once; a body built under
    an older stock generation is rebuilt once it is older than the
    CATALOG_STOCK_STALENESS_SECONDS setting. The page is stored as the bytes sent (a header
    line, then the JSON body): a hit is one Redis round trip and no serialisation. Domain
    errors raised by ``produce`` are never cached. ``timeout``: seconds in Redis (default
    CATALOG_CACHE_SECONDS); ``cached=False`` computes the body every time (same headers)."""
    key = _page_key(namespace, params) if cached else None
    generation, stock_generation, stored = 0, 0, None
    if key:
        try:
            generation, stock_generation, stored = catalog_cache.read_page(key)
        except redis.RedisError:
            log.warning("catalog cache unavailable; serving %s uncached", namespace, exc_info=True)
            key = None
    staleness = current_app.config["CATALOG_STOCK_STALENESS_SECONDS"]
    page = _decode(stored, generation, stock_generation, staleness)
    if key:
        metrics.CACHE_REQUESTS.labels(namespace, "miss" if page is None else "hit").inc()
    if page is None:
        body = orjson.dumps(produce(), option=orjson.OPT_NON_STR_KEYS)
        etag = hashlib.sha256(body).hexdigest()[:32]
        page = Page(etag, body, catalog_cache.page_header(generation, stock_generation, etag))
        if key:
            _store(key, page, timeout)
    if key and namespace in page_front.NAMESPACES:
        page_front.offer(request.environ, page.header, request.endpoint)
    return _answer(page)


class Page(NamedTuple):
    etag: str
    body: bytes
    # "<catalog generation> <stock generation> <built at, epoch seconds> <etag>"
    header: str


def _decode(stored: bytes | None, generation: int, stock_generation: int, staleness: float):
    """The stored page (header line, then the body) if it is still good for these
    generations (``catalog_cache.still_good``), else None."""
    if not stored:
        return None
    header, _, body = stored.partition(b"\n")
    try:
        header = header.decode()
        if not catalog_cache.still_good(header, generation, stock_generation, staleness):
            return None
        etag = header.rsplit(" ", 1)[1]
    except (ValueError, IndexError):  # not a page of this format: rebuild it
        return None
    return Page(etag, body, header)


def _store(key: str, page: Page, timeout) -> None:
    seconds = timeout or current_app.config["CACHE_DEFAULT_TIMEOUT"]
    try:
        catalog_cache.store_page(key, page.header.encode() + b"\n" + page.body, seconds)
    except redis.RedisError:
        log.warning("catalog cache write failed", exc_info=True)


def _answer(page: Page) -> Response:
    if request.if_none_match.contains_weak(page.etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(page.body, mimetype="application/json")
    response.set_etag(page.etag)
    max_age = current_app.config["CATALOG_HTTP_MAX_AGE_SECONDS"]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _page_key(namespace: str, params: Mapping) -> str:
    normalised = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return f"{namespace}:{hashlib.sha256(normalised.encode()).hexdigest()[:40]}"
