"""Quiet hours: the window (over midnight, in the user's zone, across a DST change), and the
preferences API that stores them (bounded: a zone is a known IANA name, never a path)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.quiet_hours import window_end
from tests.factories import auth_headers, make_user

NIGHT = {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"}
LUNCH = {"start": "12:00", "end": "14:00", "tz": "America/New_York"}


@pytest.mark.parametrize(
    ("quiet", "now", "ends"),
    [
        # 23:30 in Paris (UTC+1 in December): held until 07:00 the next morning, 06:00 UTC
        (NIGHT, datetime(2026, 12, 1, 22, 30, tzinfo=UTC), datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        # 03:00 in Paris: the morning part of the same window
        (NIGHT, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        # 07:00 sharp: the window is over
        (NIGHT, datetime(2026, 12, 2, 6, 0, tzinfo=UTC), None),
        # 21:59 in Paris: not yet
        (NIGHT, datetime(2026, 12, 1, 20, 59, tzinfo=UTC), None),
        # summer time (UTC+2): the same wall-clock window is an hour earlier in UTC
        (NIGHT, datetime(2026, 7, 1, 21, 0, tzinfo=UTC), datetime(2026, 7, 2, 5, 0, tzinfo=UTC)),
        # the night the clocks go forward (29 March 2026): ends 07:00 CEST = 05:00 UTC
        (NIGHT, datetime(2026, 3, 28, 22, 0, tzinfo=UTC), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        # a same-day window in New York (UTC-5 in December)
        (
            LUNCH,
            datetime(2026, 12, 1, 17, 30, tzinfo=UTC),
            datetime(2026, 12, 1, 19, 0, tzinfo=UTC),
        ),
        (LUNCH, datetime(2026, 12, 1, 19, 0, tzinfo=UTC), None),
        (None, datetime(2026, 12, 1, 23, 0, tzinfo=UTC), None),
    ],
)
def test_the_window_end_in_the_users_zone(quiet, now, ends):
    assert window_end(quiet, now) == ends


def test_quiet_hours_are_stored_with_the_preferences(client, app):
    headers = auth_headers(app, make_user())
    url = "/api/v1/me/notification-preferences"

    stored = client.put(url, json={"quiet_hours": NIGHT}, headers=headers)
    untouched = client.put(url, json={"marketing": {"email": True}}, headers=headers)
    read = client.get(url, headers=headers).get_json()
    cleared = client.put(url, json={"quiet_hours": None}, headers=headers)

    assert stored.status_code == 200 and stored.get_json()["quiet_hours"] == NIGHT
    assert untouched.get_json()["quiet_hours"] == NIGHT
    assert read["quiet_hours"] == NIGHT and read["marketing"]["email"] is True
    assert cleared.get_json()["quiet_hours"] is None


@pytest.mark.parametrize(
    "quiet",
    [
        {"start": "22:00", "end": "07:00", "tz": "../../../etc/passwd"},
        {"start": "22:00", "end": "07:00", "tz": "Mars/Olympus_Mons"},
        {"start": "24:00", "end": "07:00", "tz": "UTC"},
        {"start": "22:00", "end": "7:00a", "tz": "UTC"},
        {"start": "22:00", "end": "22:00", "tz": "UTC"},
    ],
)
def test_bad_quiet_hours_are_refused(client, app, quiet):
    headers = auth_headers(app, make_user())

    answer = client.put(
        "/api/v1/me/notification-preferences", json={"quiet_hours": quiet}, headers=headers
    )

    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid_quiet_hours"
