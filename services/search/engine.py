"""The search backend chosen by configuration (postgres | elasticsearch), and the fallback:
when Elasticsearch cannot be reached, PostgreSQL answers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.errors import DomainError
from services.search.backend import SearchBackend, SearchUnavailable
from services.search.postgres import PostgresSearch

log = logging.getLogger(__name__)

BACKENDS = ("postgres", "elasticsearch")
_clients: dict[str, object] = {}


class UnknownSearchBackend(DomainError):
    """SEARCH_BACKEND names no search backend this build knows."""

    error = "unknown_search_backend"


def check_configuration(name: str, elasticsearch_url: str | None) -> None:
    """Refuse, at start, a SEARCH_BACKEND this build cannot serve (UnknownSearchBackend)."""
    if name not in BACKENDS:
        raise UnknownSearchBackend(
            f"Unknown SEARCH_BACKEND {name!r}; use one of {', '.join(BACKENDS)}."
        )
    if name == "elasticsearch" and not elasticsearch_url:
        raise UnknownSearchBackend("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL.")


def backend_for(name: str, elasticsearch_url: str | None = None) -> SearchBackend:
    if name == "postgres":
        return PostgresSearch()
    if name == "elasticsearch":
        if not elasticsearch_url:
            raise UnknownSearchBackend("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL.")
        return elasticsearch_backend(elasticsearch_url)
    raise UnknownSearchBackend(
        f"Unknown SEARCH_BACKEND {name!r}; use one of {', '.join(BACKENDS)}."
    )


def serving(name: str, elasticsearch_url: str | None = None) -> SearchBackend:
    """The backend that answers now: the configured one, or PostgreSQL while Elasticsearch is
    unreachable or its index is missing, outdated or being rebuilt."""
    backend = backend_for(name, elasticsearch_url)
    if backend.name == "elasticsearch" and not backend.ready():
        return PostgresSearch()
    return backend


def elasticsearch_backend(url: str):
    from services.search.elastic import ElasticsearchSearch
    from services.search.elastic_client import make_client

    client = _clients.get(url)
    if client is None:
        client = _clients[url] = make_client(url)
    return ElasticsearchSearch(client)


def answer(primary: SearchBackend, ask: Callable[[SearchBackend], object]):
    """(answer, backend name): from ``primary``, or from PostgreSQL when it is unreachable."""
    try:
        return ask(primary), primary.name
    except SearchUnavailable:
        if primary.name == "postgres":
            raise
        log.warning("search backend %s unreachable; PostgreSQL answers", primary.name)
        fallback = PostgresSearch()
        return ask(fallback), fallback.name


def mirror_for(name: str, elasticsearch_url: str | None):
    """What else must receive a batch of rebuilt documents (the Elasticsearch index), if any:
    a callable (session, book_ids), or None for the PostgreSQL backend."""
    if name != "elasticsearch":
        return None
    return elasticsearch_backend(elasticsearch_url).sync
