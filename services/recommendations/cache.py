"""Generations that key the cached recommendation answers, kept in Redis beside the catalog's.

A cached answer's key carries the *published* generation (bumped after a build's swap
commits: every cached list goes stale at once) and, for a shopper's picks, that shopper's
*signals* version, bumped after a commit that changes what their picks are computed from:
an order entering or leaving confirmed-or-later, or a review written, edited or withdrawn.
Orders are watched through session events (their status changes in many places: steps,
webhooks, refunds, cancellation), so no path that moves an order can forget to invalidate;
reviews call ``user_changed`` after their commit. The cart is no part of the version: its
books are part of the key itself."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from models import Order
from services.catalog import cache as catalog_cache
from services.orders.placement import CONFIRMED_OR_LATER

log = logging.getLogger(__name__)

PUBLISHED_KEY = "bookstore:recommendations:generation"
USER_KEY = "bookstore:recommendations:user:{}"
# A shopper's version outlives any cached answer built under it (the key is only a counter).
USER_KEY_SECONDS = 30 * 24 * 3600
_PENDING = "recommendations_users_changed"


def published() -> None:
    """Call after a new neighbour generation is committed as current."""
    try:
        catalog_cache.client().incr(PUBLISHED_KEY)
    except redis.RedisError:
        log.warning("could not mark the recommendation caches stale", exc_info=True)


def users_changed(user_ids: Iterable[uuid.UUID | None]) -> None:
    """Call after committing a change to these shoppers' orders or reviews."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return
    try:
        pipe = catalog_cache.client().pipeline(transaction=False)
        for user_id in ids:
            pipe.incr(USER_KEY.format(user_id))
            pipe.expire(USER_KEY.format(user_id), USER_KEY_SECONDS)
        pipe.execute()
    except redis.RedisError:
        log.warning("could not mark %d shoppers' picks stale", len(ids), exc_info=True)


def user_changed(user_id: uuid.UUID | None) -> None:
    users_changed([user_id])


def versions(user_id: uuid.UUID | None = None) -> dict | None:
    """The published generation (and the shopper's version) for a cache key, in one round
    trip; None when Redis cannot be reached (then the answer is not cached anyway)."""
    keys = [PUBLISHED_KEY] + ([USER_KEY.format(user_id)] if user_id is not None else [])
    try:
        values = catalog_cache.client().mget(keys)
    except redis.RedisError:
        return None
    found = {"published": int(values[0] or 0)}
    if user_id is not None:
        found["signals"] = int(values[1] or 0)
    return found


def user_changed_on_commit(session: Session, user_id: uuid.UUID | None) -> None:
    """Mark the shopper's picks stale once ``session`` commits (for changes made with
    statements the order watch cannot see, such as guest orders joining an account)."""
    if user_id is not None:
        session.info.setdefault(_PENDING, set()).add(user_id)


def _confirmed_or_later(status) -> bool:
    return status in CONFIRMED_OR_LATER


def _watch_orders(session: Session, flush_context, instances) -> None:
    """Before a flush: remember the buyers whose order crossed the confirmed line."""
    for obj in session.dirty:
        if not isinstance(obj, Order):
            continue
        history = inspect(obj).attrs.status.history
        if not history.has_changes():
            continue
        before = [_confirmed_or_later(status) for status in history.deleted]
        after = [_confirmed_or_later(status) for status in history.added]
        if any(before) != any(after):
            session.info.setdefault(_PENDING, set()).add(obj.user_id)
    for obj in session.new:
        if isinstance(obj, Order) and _confirmed_or_later(obj.status):
            session.info.setdefault(_PENDING, set()).add(obj.user_id)


def _after_commit(session: Session) -> None:
    changed = session.info.pop(_PENDING, None)
    if changed:
        users_changed(changed)


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # a savepoint's rollback keeps the outer work
        session.info.pop(_PENDING, None)


def watch(session_factory) -> None:
    """Hook the order watch onto the sessions ``session_factory`` makes (once per process)."""
    if event.contains(session_factory, "before_flush", _watch_orders):
        return
    event.listen(session_factory, "before_flush", _watch_orders)
    event.listen(session_factory, "after_commit", _after_commit)
    event.listen(session_factory, "after_soft_rollback", _after_rollback)
