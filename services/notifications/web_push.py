"""The web_push channel: browsers' Web Push subscriptions, and messages sent to them with
``pywebpush`` (payload encrypted for the subscription, RFC 8291; signed with our VAPID key,
RFC 8292). A push service answering 404/410 has dropped the subscription: we delete it.

A subscription's endpoint is a URL a client hands us and we later POST to: it is accepted only
as https on an allowed push-service host (``WEBPUSH_ALLOWED_HOSTS``), or on an origin listed in
``WEBPUSH_EXTRA_ORIGINS`` (a local peer in tests), and redirects are never followed."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete, func, select

from models import PushSubscription, User, db
from services.errors import Conflict, InvalidInput, NotFound


class InvalidPushSubscription(InvalidInput):
    """The subscription's keys are not a P-256 public key (p256dh) and a 16-byte secret (auth)."""

    error = "invalid_push_subscription"


class PushEndpointNotAllowed(InvalidInput):
    """The endpoint is not an https URL of a known push service."""

    error = "push_endpoint_not_allowed"


class TooManyPushSubscriptions(Conflict):
    """You have as many push subscriptions as allowed; remove one first."""

    error = "too_many_push_subscriptions"


class PushSubscriptionNotFound(NotFound):
    """No such push subscription of yours."""

    error = "push_subscription_not_found"


class PushNotConfigured(NotFound):
    """Web push is not configured on this server (no VAPID key)."""

    error = "push_not_configured"


class TransientPushError(Exception):
    """The push service is unreachable, throttling or failing: retry later."""


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- the endpoint a client gives us ------------------------------------------------------
def _host_allowed(host: str, allowed: str) -> bool:
    for pattern in (entry.strip().lower() for entry in allowed.split(",")):
        if not pattern:
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def check_endpoint(endpoint: str, config: Mapping) -> str:
    """The endpoint if we may POST to it, else PushEndpointNotAllowed."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise PushEndpointNotAllowed(field="endpoint") from exc
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    extra = {o.strip().lower().rstrip("/") for o in config["WEBPUSH_EXTRA_ORIGINS"].split(",")}
    if origin in extra - {""} and not parts.username and not parts.password:
        return endpoint
    host = (parts.hostname or "").lower()
    if (
        parts.scheme != "https"
        or parts.username
        or parts.password
        or port not in (None, 443)
        or not _host_allowed(host, config["WEBPUSH_ALLOWED_HOSTS"])
    ):
        raise PushEndpointNotAllowed(field="endpoint")
    return endpoint


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = _b64decode(p256dh)
        secret = _b64decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error) as exc:
        raise InvalidPushSubscription(field="keys") from exc
    if len(point) != 65 or len(secret) != 16:
        raise InvalidPushSubscription(field="keys")


# --- subscriptions ------------------------------------------------------------------------
def subscribe(user: User, endpoint: str, p256dh: str, auth: str, config: Mapping):
    """Store the browser's subscription (the same endpoint again updates its keys and owner).
    The user's first subscription turns push on for order updates and back-in-stock news.
    Commits; returns (subscription, created)."""
    from services.notifications import preferences

    check_endpoint(endpoint, config)
    _check_keys(p256dh, auth)
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update()
    )
    if existing is not None:
        existing.user_id, existing.p256dh, existing.auth = user.id, p256dh, auth
        db.session.commit()
        return existing, False
    count = db.session.scalar(
        select(func.count(PushSubscription.id)).where(PushSubscription.user_id == user.id)
    )
    if count >= config["WEBPUSH_MAX_SUBSCRIPTIONS"]:
        db.session.rollback()
        raise TooManyPushSubscriptions()
    subscription = PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
    db.session.add(subscription)
    db.session.flush()
    if count == 0:
        turn_on = {"web_push": True}
        preferences.update(user, {"order_updates": turn_on, "back_in_stock": turn_on})
    db.session.commit()
    return subscription, True


def list_for(user: User) -> list[PushSubscription]:
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at, PushSubscription.id)
        )
    )


def unsubscribe(user: User, subscription_id: uuid.UUID) -> None:
    deleted = db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.id == subscription_id, PushSubscription.user_id == user.id
        )
    ).rowcount
    db.session.commit()
    if not deleted:
        raise PushSubscriptionNotFound()


def has_subscription(user_id: uuid.UUID) -> bool:
    return (
        db.session.scalar(
            select(PushSubscription.id).where(PushSubscription.user_id == user_id).limit(1)
        )
        is not None
    )


# --- VAPID and sending --------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _vapid(private_key: str):
    from py_vapid import Vapid

    if private_key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(private_key.encode())
    return Vapid.from_string(private_key)


def vapid_public_key(config: Mapping) -> str:
    """The application server key browsers pass to ``pushManager.subscribe`` (base64url)."""
    if not config.get("WEBPUSH_VAPID_PRIVATE_KEY"):
        raise PushNotConfigured()
    public = _vapid(config["WEBPUSH_VAPID_PRIVATE_KEY"]).public_key
    return _b64encode(public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def _session() -> requests.Session:
    session = requests.Session()
    session.max_redirects = 0  # a redirect would send our signed request elsewhere
    session.trust_env = False
    return session


def send_to_user(user_id: uuid.UUID, payload: dict, config: Mapping) -> tuple[int, int]:
    """Push ``payload`` (JSON) to each of the user's subscriptions. Returns (sent, removed):
    subscriptions the push service says are gone are deleted (flushed; the caller commits).
    Raises TransientPushError when no push service took it and one could not take it now (the
    channel task retries)."""
    from pywebpush import WebPushException, webpush

    if not config.get("WEBPUSH_VAPID_PRIVATE_KEY"):
        raise PushNotConfigured()
    vapid = _vapid(config["WEBPUSH_VAPID_PRIVATE_KEY"])
    data = json.dumps(payload, separators=(",", ":"))[:3000]
    sent = removed = 0
    transient: list[str] = []
    for subscription in list_for_user_id(user_id):
        try:
            check_endpoint(subscription.endpoint, config)  # the allow-list may have shrunk
        except PushEndpointNotAllowed:
            db.session.delete(subscription)
            removed += 1
            continue
        try:
            webpush(
                {
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=data,
                vapid_private_key=vapid,
                vapid_claims={"sub": config["WEBPUSH_VAPID_SUBJECT"]},
                ttl=int(config["WEBPUSH_TTL_SECONDS"]),
                timeout=float(config["WEBPUSH_TIMEOUT_SECONDS"]),
                requests_session=_session(),
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                db.session.delete(subscription)
                removed += 1
            elif status is None or status == 429 or status >= 500:
                transient.append(f"{status}: {exc.message[:200]}")
            # any other 4xx: this message is refused for good; the subscription stays
            continue
        except requests.TooManyRedirects:
            continue  # an endpoint that redirects is refused for good (never followed)
        except requests.RequestException as exc:
            transient.append(type(exc).__name__)
            continue
        subscription.last_sent_at = datetime.now(UTC)
        sent += 1
    db.session.flush()  # the caller commits with the delivery's outcome
    if transient and not sent:
        raise TransientPushError("; ".join(transient))
    return sent, removed


def list_for_user_id(user_id: uuid.UUID) -> list[PushSubscription]:
    return list(
        db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id))
    )
