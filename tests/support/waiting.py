"""Waiting for another process (a worker) to get something done, with a generous deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(produce: Callable[[], T], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Call ``produce`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s")
        time.sleep(interval)
