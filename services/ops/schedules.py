"""Beat schedules for people: "every 5 s", "hourly at :00", "daily at 02:00 UTC", and when a
job runs next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery.schedules import crontab

MINUTE, HOUR, DAY = 60, 3600, 86400


def describe(schedule) -> str:
    if isinstance(schedule, int | float):
        return _every(float(schedule))
    if isinstance(schedule, crontab):
        return _describe_crontab(schedule)
    run_every = getattr(schedule, "run_every", None)
    if isinstance(run_every, timedelta):
        return _every(run_every.total_seconds())
    return str(schedule)


def _every(seconds: float) -> str:
    for size, unit in ((DAY, "d"), (HOUR, "h"), (MINUTE, "min")):
        if seconds >= 2 * size and seconds % size == 0:
            return f"every {seconds / size:g} {unit}"
    return f"every {seconds:g} s"


def _describe_crontab(schedule: crontab) -> str:
    minute, hour = str(schedule._orig_minute), str(schedule._orig_hour)
    rest = (
        str(schedule._orig_day_of_week),
        str(schedule._orig_day_of_month),
        str(schedule._orig_month_of_year),
    )
    if rest == ("*", "*", "*") and minute.isdigit():
        if hour == "*":
            return f"hourly at :{int(minute):02d}"
        if hour.isdigit():
            return f"daily at {int(hour):02d}:{int(minute):02d} UTC"
    return f"cron '{minute} {hour} {rest[1]} {rest[2]} {rest[0]}' (UTC)"


def next_run(schedule, last_run_at: datetime | None, now: datetime | None = None) -> datetime:
    """When beat sends the job next: one period after its last run (or now, if overdue)."""
    now = now or datetime.now(UTC)
    if isinstance(schedule, int | float):
        if last_run_at is None:
            return now
        return max(now, last_run_at + timedelta(seconds=float(schedule)))
    if isinstance(schedule, crontab):
        return _next_cron(schedule, now)
    return now


def _next_cron(schedule: crontab, now: datetime) -> datetime:
    """The first minute after ``now`` that the crontab matches (a day's and a year's worth
    of minutes at most are scanned; the schedules here are hourly or daily)."""
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        if (
            moment.minute in schedule.minute
            and moment.hour in schedule.hour
            and moment.day in schedule.day_of_month
            and moment.month in schedule.month_of_year
            and (moment.isoweekday() % 7) in schedule.day_of_week
        ):
            return moment
        moment += timedelta(minutes=1)
    return moment


def period_seconds(schedule, now: datetime | None = None) -> float:
    """Seconds between two runs (for a crontab: between its next two matches)."""
    if isinstance(schedule, int | float):
        return float(schedule)
    run_every = getattr(schedule, "run_every", None)
    if isinstance(run_every, timedelta):
        return run_every.total_seconds()
    first = next_run(schedule, None, now)
    return (next_run(schedule, None, first) - first).total_seconds()
