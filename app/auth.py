"""Who is calling: the bearer access token, and decorators that require a login or a role."""

from __future__ import annotations

import functools
import uuid

from flask import current_app, g, request

from models import User, db
from services.accounts.tokens import InvalidToken, decode_access_token, issue_access_token
from services.errors import Forbidden
from services.observability import context as log_context


def access_token_for(user: User) -> str:
    config = current_app.config
    return issue_access_token(
        user.id, user.role, config["JWT_SECRET_KEY"], config["ACCESS_TOKEN_TTL_SECONDS"]
    )


def current_user() -> User | None:
    """The authenticated user, or None when no Authorization header was sent."""
    if "current_user" in g:
        return g.current_user
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'.")
        claims = decode_access_token(token.strip(), current_app.config["ACCESS_TOKEN_KEYS"])
        user = db.session.get(User, uuid.UUID(claims["sub"]))
        if user is None or not user.is_active:
            raise InvalidToken()
        log_context.bind(user_id=str(user.id))
    g.current_user = user
    return user


def require_user() -> User:
    user = current_user()
    if user is None:
        raise InvalidToken("This endpoint needs an access token.")
    return user


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_user()
        return view(*args, **kwargs)

    return wrapper


def roles_required(*roles: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if require_user().role not in roles:
                raise Forbidden("Your account may not do this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


staff_required = roles_required("staff", "admin")
admin_required = roles_required("admin")
