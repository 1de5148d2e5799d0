"""The fields every log line carries while they are known (request, user, order, task).

A ``ContextVar`` per process and thread: the API binds the request id and user, a worker
restores the request id from the task's message headers and binds the task and order.
Services never pass these around; they only log."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

# The names, in the order a text line shows them.
FIELDS = (
    "request_id",
    "user_id",
    "order_id",
    "order_number",
    "task_id",
    "task_name",
    "queue",
    "attempt",
)
# The message header that carries the request id into tasks (and their chain steps).
REQUEST_ID_HEADER = "x_request_id"

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("bookstore_log_context")


def current() -> dict:
    """The bound fields (a copy)."""
    return dict(_context.get({}))


def get(name: str):
    return _context.get({}).get(name)


def bind(**fields) -> contextvars.Token:
    """Add fields (``None`` values are ignored) until ``reset(token)``."""
    merged = {**_context.get({}), **{k: v for k, v in fields.items() if v is not None}}
    return _context.set(merged)


def reset(token: contextvars.Token) -> None:
    _context.reset(token)


def clear() -> None:
    _context.set({})


@contextlib.contextmanager
def bound(**fields) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        reset(token)
