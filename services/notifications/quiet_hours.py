"""Quiet hours per user: SMS and push of non-urgent events wait until the window ends (e-mail
and in-app never wait). A held delivery is released by ``release_due`` (beat, every minute)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select, update

from models import NotificationDelivery, NotificationPreference, db
from services.errors import InvalidInput

# The channels quiet hours hold back.
HELD_CHANNELS = frozenset({"sms", "web_push"})
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class InvalidQuietHours(InvalidInput):
    """Quiet hours need start and end as HH:MM (24 h) and a known IANA time zone."""

    error = "invalid_quiet_hours"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validated(value: dict | None) -> dict | None:
    """The quiet hours to store (None: none). The zone must be one of the IANA names known
    here (a client's string never names a file: it is looked up in that set first)."""
    if value is None:
        return None
    start, end, zone = value.get("start"), value.get("end"), value.get("tz")
    bad = [
        name
        for name, ok in (
            ("start", isinstance(start, str) and _CLOCK.match(start)),
            ("end", isinstance(end, str) and _CLOCK.match(end)),
            ("tz", isinstance(zone, str) and zone in _zones()),
        )
        if not ok
    ]
    if bad or start == end:
        raise InvalidQuietHours(fields=[f"quiet_hours.{name}" for name in bad or ["end"]])
    return {"start": start, "end": end, "tz": zone}


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def window_end(quiet: dict | None, now: datetime) -> datetime | None:
    """When the quiet window ``now`` falls in ends (UTC), or None outside it. A window may
    run over midnight (22:00-07:00); times are the user's wall-clock times in their zone."""
    if not quiet:
        return None
    zone = ZoneInfo(quiet["tz"])
    start, end = time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:  # same-day window
        inside, ends = start <= clock < end, _at(today, end, zone)
    elif clock >= start:  # over midnight, evening part
        inside, ends = True, _at(today + timedelta(days=1), end, zone)
    else:  # over midnight, morning part
        inside, ends = clock < end, _at(today, end, zone)
    return ends.astimezone(UTC) if inside else None


def held_until(user_id: uuid.UUID, now: datetime) -> datetime | None:
    stored = db.session.get(NotificationPreference, user_id)
    return window_end(stored.quiet_hours if stored is not None else None, now)


def release_due(now: datetime | None = None, limit: int = 500) -> list[tuple[uuid.UUID, str]]:
    """Held deliveries whose window ended go back to ``queued``. Commits. Returns the
    (delivery id, channel) to enqueue; rows another sweep holds are skipped."""
    now = now or datetime.now(UTC)
    due = db.session.execute(
        select(NotificationDelivery.id, NotificationDelivery.channel)
        .where(NotificationDelivery.status == "held", NotificationDelivery.hold_until <= now)
        .order_by(NotificationDelivery.hold_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if due:
        db.session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_([row.id for row in due]))
            .values(status="queued")
        )
    db.session.commit()
    return [(row.id, row.channel) for row in due]
