"""Registration, login, rotating refresh tokens, email verification and password reset."""

from __future__ import annotations

import redis
from flask import current_app, request
from flask.views import MethodView

from app.api import examples
from app.api.account_schemas import (
    AcceptedSchema,
    LinkTokenSchema,
    LoginSchema,
    PasswordResetConfirmSchema,
    PasswordResetRequestSchema,
    RefreshTokenSchema,
    RegisterSchema,
    TokenPairSchema,
    UserSchema,
)
from app.api.base import Blueprint
from app.api.cart import CART_TOKEN_HEADER
from app.auth import access_token_for
from app.extensions import limiter
from models import db
from services.accounts import refresh_tokens
from services.accounts import users as accounts
from services.accounts.throttle import Throttle
from services.orders import guest_access
from tasks.email import enqueue

blp = Blueprint("auth", __name__, description="Accounts and sessions.")

RATE_LIMITED = "Too many attempts from your address; wait a little and try again."


def _limit(setting: str):
    return limiter.limit(lambda: current_app.config[setting], error_message=RATE_LIMITED)


def _throttle(kind: str) -> Throttle:
    """The per-account counter ``login`` (failed logins) or ``account_mail`` (mails sent)."""
    config = current_app.config
    client = current_app.extensions.get("throttle_redis")
    if client is None:
        client = current_app.extensions["throttle_redis"] = redis.Redis.from_url(
            config["REDIS_URL"]
        )
    if kind == "login":
        limit, window = config["LOGIN_FAILURE_LIMIT"], config["LOGIN_FAILURE_WINDOW_SECONDS"]
    else:
        limit, window = config["ACCOUNT_MAIL_LIMIT"], config["ACCOUNT_MAIL_WINDOW_SECONDS"]
    return Throttle(client, kind, limit, window)


def _policy() -> accounts.AccountPolicy:
    return accounts.AccountPolicy.from_config(current_app.config)


def _token_pair(user, refresh_token: str) -> dict:
    return {
        "access_token": access_token_for(user),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": current_app.config["ACCESS_TOKEN_TTL_SECONDS"],
    }


@blp.route("/auth/register")
class Register(MethodView):
    @_limit("RATE_LIMIT_REGISTER")
    @blp.arguments(RegisterSchema, example=examples.REGISTER)
    @blp.response(201, UserSchema, example=examples.USER)
    @blp.alt_response(409, description="email_taken")
    @blp.alt_response(422, description="weak_password or validation_error")
    @blp.alt_response(429, description="rate_limited")
    def post(self, body):
        """Create a customer account and send the verification email."""
        user, notification_ids = accounts.register(
            body["email"], body["password"], body["name"], _policy()
        )
        enqueue(notification_ids)
        _send_welcome(user)
        return user


@blp.route("/auth/login")
class Login(MethodView):
    @_limit("RATE_LIMIT_LOGIN")
    @blp.arguments(LoginSchema, example=examples.LOGIN)
    @blp.response(200, TokenPairSchema, example=examples.TOKENS)
    @blp.alt_response(401, description="invalid_credentials")
    @blp.alt_response(429, description="rate_limited")
    def post(self, body):
        """Exchange email and password for tokens; a guest cart sent as X-Cart-Token merges."""
        failures = _throttle("login")
        failures.check(body["email"])  # locked accounts answer 429 even to the right password
        try:
            user, refresh_token = accounts.login(
                body["email"], body["password"], _policy(), request.headers.get(CART_TOKEN_HEADER)
            )
        except accounts.InvalidCredentials:
            failures.hit(body["email"])
            raise
        failures.reset(body["email"])
        return _token_pair(user, refresh_token)


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshTokenSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="invalid_token or token_reused")
    def post(self, body):
        """Rotate the refresh token: the presented one is spent, a new pair is returned."""
        user, refresh_token = refresh_tokens.rotate(
            body["refresh_token"], current_app.config["REFRESH_TOKEN_TTL_SECONDS"]
        )
        return _token_pair(user, refresh_token)


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.arguments(RefreshTokenSchema)
    @blp.response(204)
    def post(self, body):
        """End the session the refresh token belongs to."""
        refresh_tokens.revoke(body["refresh_token"])


@blp.route("/auth/verify-email")
class VerifyEmail(MethodView):
    @blp.arguments(LinkTokenSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(400, description="invalid_token")
    def post(self, body):
        """Confirm the email address with the token from the verification email."""
        user = accounts.verify_email(body["token"])
        # Guest orders placed with this address join the account now that it is proven.
        guest_access.claim_guest_orders(user)
        db.session.commit()
        return user


def _recipient_key() -> str:
    """Resends are limited per recipient as well as per client address."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"verify-resend:{str(email).strip().lower()}" if email else "verify-resend:-"


@blp.route("/auth/verify-email/resend")
class VerifyEmailResend(MethodView):
    @_limit("RATE_LIMIT_VERIFY_RESEND")
    @limiter.limit(
        lambda: current_app.config["RATE_LIMIT_VERIFY_RESEND"],
        key_func=_recipient_key,
        error_message=RATE_LIMITED,
    )
    @blp.arguments(PasswordResetRequestSchema)
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(429, description="rate_limited")
    def post(self, body):
        """Email a new verification link if an unverified account has this address (202 always)."""
        enqueue(accounts.resend_verification(body["email"], _policy()))
        return {"status": "accepted"}


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    @_limit("RATE_LIMIT_PASSWORD_RESET")
    @blp.arguments(PasswordResetRequestSchema)
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(429, description="rate_limited")
    def post(self, body):
        """Email a reset link if the account exists (the answer never tells)."""
        if _throttle("account_mail").allow(body["email"]):  # else: quietly not sent again
            enqueue(accounts.request_password_reset(body["email"], _policy()))
        return {"status": "accepted"}


@blp.route("/auth/password-reset/confirm")
class PasswordResetConfirm(MethodView):
    @blp.arguments(PasswordResetConfirmSchema)
    @blp.response(204)
    @blp.alt_response(400, description="invalid_token")
    @blp.alt_response(422, description="weak_password")
    def post(self, body):
        """Set a new password with the reset token; every session is logged out."""
        accounts.confirm_password_reset(body["token"], body["new_password"], _policy())


def _send_welcome(user) -> None:
    """The welcome notification was recorded with the account; send it now (the outbox
    relay sends it later if the broker is down)."""
    from services.accounts.users import welcome_key
    from services.notifications.events import unsent_outbox_ids
    from tasks.chains import send_recorded

    send_recorded(current_app.extensions["celery"], unsent_outbox_ids(welcome_key(user.id)))
