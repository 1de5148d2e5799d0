"""Tests of task chains: after each test, let the workers finish what the test started."""

from __future__ import annotations

import pytest

from tests.support.orders import wait_for_idle_workers


@pytest.fixture(autouse=True)
def _workers_idle_before_cleanup(app, committed):
    """Torn down before ``committed`` empties the tables: the tail of a chain (email,
    shipment, reindex) may still run after the test saw the order's final status."""
    yield
    wait_for_idle_workers(app.extensions["celery"])
