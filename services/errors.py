"""Typed domain errors. The API maps them to HTTP answers; tasks map them to retry or give up."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose. ``error`` is the stable API id."""

    error = "domain_error"

    def __init__(self, message: str | None = None, **details) -> None:
        super().__init__(message or self.__doc__ or self.error)
        self.message = message or (self.__doc__ or self.error).strip()
        self.details = details


class InvalidInput(DomainError):
    """The request is not valid."""

    error = "validation_error"


class InvalidCursor(DomainError):
    """The cursor is malformed or was not issued by this server."""

    error = "invalid_cursor"


class NotFound(DomainError):
    """The resource does not exist."""

    error = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state of the resource."""

    error = "conflict"


class Forbidden(DomainError):
    """You may not do this."""

    error = "forbidden"


class Unauthorized(DomainError):
    """Authentication is required."""

    error = "unauthorized"
