"""The search backend chosen by configuration (adapters at the edge: postgres | elasticsearch)."""

from __future__ import annotations

from services.errors import DomainError
from services.search.backend import SearchBackend
from services.search.postgres import PostgresSearch

BACKENDS = ("postgres",)


class UnknownSearchBackend(DomainError):
    """SEARCH_BACKEND names no search backend this build knows."""

    error = "unknown_search_backend"


def backend_for(name: str) -> SearchBackend:
    if name == "postgres":
        return PostgresSearch()
    raise UnknownSearchBackend(
        f"Unknown SEARCH_BACKEND {name!r}; use one of {', '.join(BACKENDS)}."
    )
