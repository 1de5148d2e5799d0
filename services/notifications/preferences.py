"""Notification preferences per category and channel, with defaults (e-mail and in-app on;
SMS and web push off until the user has a verified phone or a push subscription)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from models import NotificationPreference, User, db
from services.errors import InvalidInput

CHANNELS = ("email", "sms", "web_push", "in_app")
CATEGORIES = ("order_updates", "marketing", "back_in_stock")
DEFAULTS = {
    "order_updates": {"email": True, "sms": False, "web_push": False, "in_app": True},
    "marketing": {"email": False, "sms": False, "web_push": False, "in_app": True},
    "back_in_stock": {"email": True, "sms": False, "web_push": False, "in_app": True},
}


def _merged(stored: NotificationPreference | None) -> dict:
    values = copy.deepcopy(DEFAULTS)
    if stored is None:
        return values
    # The older flat flags govern e-mail (they are what the e-mail log checks).
    values["order_updates"]["email"] = bool(stored.order_updates)
    values["marketing"]["email"] = bool(stored.marketing)
    for category, channels in (stored.channels or {}).items():
        if category in values:
            values[category].update(
                {name: bool(on) for name, on in channels.items() if name in CHANNELS}
            )
    return values


def get(user_id) -> dict:
    """The categories' channels, and ``quiet_hours`` (None: none)."""
    stored = db.session.get(NotificationPreference, user_id)
    return {**_merged(stored), "quiet_hours": stored.quiet_hours if stored is not None else None}


def channels_of(user_id, category: str) -> dict[str, bool]:
    """{channel: on} of one category for this user (defaults where nothing is stored)."""
    return _merged(db.session.get(NotificationPreference, user_id)).get(category, {})


def update(user: User, values: Mapping) -> dict:
    """Merge ``values`` ({category: {channel: bool}}, and ``quiet_hours``: {start, end, tz}
    or None to clear them) into the user's preferences. Commits."""
    from services.notifications import quiet_hours

    values = dict(values)
    quiet_given = "quiet_hours" in values
    quiet = quiet_hours.validated(values.pop("quiet_hours", None))
    unknown = [
        f"{category}.{channel}"
        for category, channels in values.items()
        for channel in (channels if isinstance(channels, Mapping) else {"?": None})
        if category not in CATEGORIES or channel not in CHANNELS
    ]
    if unknown:
        raise InvalidInput("Unknown category or channel.", fields=unknown)
    stored = db.session.get(NotificationPreference, user.id, with_for_update=True)
    if stored is None:
        stored = NotificationPreference(user_id=user.id, order_updates=True, marketing=False)
        db.session.add(stored)
    merged = _merged(stored)
    for category, channels in values.items():
        merged[category].update({name: bool(on) for name, on in channels.items()})
    stored.channels = merged
    stored.order_updates = merged["order_updates"]["email"]
    stored.marketing = merged["marketing"]["email"]
    if quiet_given:
        stored.quiet_hours = quiet
    db.session.commit()
    return {**merged, "quiet_hours": stored.quiet_hours}
