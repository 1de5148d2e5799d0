"""Outgoing email: Jinja2 templates rendered to MIME messages, and the backends that send them."""

from services.notifications.email.backends import (
    EmailBackend,
    EmailError,
    PermanentEmailError,
    TransientEmailError,
    build_backend,
)
from services.notifications.email.rendering import render

__all__ = [
    "EmailBackend",
    "EmailError",
    "PermanentEmailError",
    "TransientEmailError",
    "build_backend",
    "render",
]
