"""Fixtures for tests of the order chains."""

from __future__ import annotations

import pytest

from tests.support.orders import wait_for_idle_workers


@pytest.fixture
def idle_workers_at_end(app, committed):
    """Torn down before ``committed`` empties the tables: the tail of a chain (email,
    shipment, reindex) may still run after the test saw the order's final status."""
    yield
    wait_for_idle_workers(app.extensions["celery"])
