"""Accounts: registration, login, email verification, password reset and the profile.

Functions that send email return the ids of the notifications they queued; the caller
enqueues them after the commit (``tasks.email.enqueue``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import LinkPurpose, Role, User, db
from services.accounts import link_tokens, passwords, refresh_tokens
from services.errors import Conflict, Unauthorized
from services.notifications import delivery as notifications
from services.notifications.events import notify
from services.orders import cart

log = logging.getLogger(__name__)


class InvalidCredentials(Unauthorized):
    """The email or password is wrong."""

    error = "invalid_credentials"


class EmailTaken(Conflict):
    """An account with this email address already exists."""

    error = "email_taken"


@dataclass(frozen=True)
class AccountPolicy:
    """The settings these functions need (built from the app config by the caller)."""

    frontend_url: str
    verification_ttl_seconds: int = 48 * 3600
    reset_ttl_seconds: int = 3600
    refresh_ttl_seconds: int = 30 * 24 * 3600
    min_password_length: int = passwords.DEFAULT_MIN_LENGTH

    @classmethod
    def from_config(cls, config) -> AccountPolicy:
        return cls(
            frontend_url=config["FRONTEND_URL"],
            verification_ttl_seconds=config["EMAIL_VERIFICATION_TTL_SECONDS"],
            reset_ttl_seconds=config["PASSWORD_RESET_TTL_SECONDS"],
            refresh_ttl_seconds=config["REFRESH_TOKEN_TTL_SECONDS"],
            min_password_length=config["PASSWORD_MIN_LENGTH"],
        )

    def link(self, path: str, token: str) -> str:
        return f"{self.frontend_url.rstrip('/')}/{path}?{urlencode({'token': token})}"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register(
    email: str, password: str, name: str, policy: AccountPolicy
) -> tuple[User, list[uuid.UUID]]:
    """Create a customer and queue the verification email. Commits."""
    email = normalise_email(email)
    passwords.check_policy(password, email, policy.min_password_length)
    if find_by_email(email) is not None:
        raise EmailTaken()
    user = User(
        email=email,
        password_hash=passwords.hash_password(password),
        name=name.strip(),
        role=Role.CUSTOMER,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise EmailTaken() from exc
    notification = _queue_verification(user, policy)
    # The welcome (every channel) commits with the account: once per account.
    notify("welcome", user.id, {}, welcome_key(user.id))
    db.session.commit()
    log.info("registered user %s", user.id)
    return user, [notification.id]


def welcome_key(user_id: uuid.UUID) -> str:
    return f"welcome:{user_id}"


def create_user(email: str, password: str, name: str, role: str, min_length: int) -> User:
    """Create (or promote) an account with ``role``; used by the staff CLI. Commits."""
    email = normalise_email(email)
    passwords.check_policy(password, email, min_length)
    user = find_by_email(email)
    if user is None:
        user = User(email=email, name=name, email_verified_at=datetime.now(UTC))
        db.session.add(user)
    user.role = role
    user.password_hash = passwords.hash_password(password)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials, or InvalidCredentials (same answer either way)."""
    user = find_by_email(email)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        db.session.commit()
    return user


def login(
    email: str, password: str, policy: AccountPolicy, guest_cart_token: str | None = None
) -> tuple[User, str]:
    """Authenticate, start a refresh-token family and merge the guest cart whose token the
    shopper sent into theirs. Commits."""
    user = authenticate(email, password)
    refresh_token = refresh_tokens.issue(user, policy.refresh_ttl_seconds)
    if guest_cart_token:
        cart.merge_guest_cart(guest_cart_token, user.id)
    db.session.commit()
    log.info("user %s logged in", user.id)
    return user, refresh_token


def verify_email(token: str) -> User:
    user = link_tokens.consume(token, LinkPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    db.session.commit()
    return user


def request_password_reset(email: str, policy: AccountPolicy) -> list[uuid.UUID]:
    """Queue a reset email when the account exists; the caller answers the same either way."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        return []
    token = link_tokens.create(user, LinkPurpose.PASSWORD_RESET, policy.reset_ttl_seconds)
    notification = notifications.queue(
        user.email,
        "password_reset",
        {
            "name": user.name,
            "link": policy.link("reset-password", token),
            "valid_minutes": policy.reset_ttl_seconds // 60,
        },
        user_id=user.id,
    )
    db.session.commit()
    return [notification.id]


def confirm_password_reset(token: str, new_password: str, policy: AccountPolicy) -> User:
    """Set the new password, spend every reset link and end every session. Commits."""
    user = link_tokens.consume(token, LinkPurpose.PASSWORD_RESET)
    passwords.check_policy(new_password, user.email, policy.min_password_length)
    user.password_hash = passwords.hash_password(new_password)
    link_tokens.spend_all(user, LinkPurpose.PASSWORD_RESET)
    refresh_tokens.revoke_all_for_user(user)
    db.session.commit()
    log.info("user %s reset their password", user.id)
    return user


def update_profile(user: User, name: str | None = None) -> User:
    if name is not None:
        user.name = name.strip()
    db.session.commit()
    return user


def _queue_verification(user: User, policy: AccountPolicy):
    token = link_tokens.create(user, LinkPurpose.VERIFY_EMAIL, policy.verification_ttl_seconds)
    return notifications.queue(
        user.email,
        "verify_email",
        {
            "name": user.name,
            "link": policy.link("verify-email", token),
            "valid_hours": policy.verification_ttl_seconds // 3600,
        },
        user_id=user.id,
    )
