"""A callback the worker's event loop schedules for itself wakes the loop at once instead of
waiting for the poll to time out (workers/prompt_acks: late acks were held back that way)."""

from __future__ import annotations

import socket
import threading

import pytest
from kombu.asynchronous.hub import Hub

from workers import prompt_acks


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(Hub, "call_soon", Hub.call_soon)  # the class is restored after the test
    hub = Hub()
    left, right = socket.socketpair()
    hub.add_reader(left, lambda *_: None)  # a socket that stays silent, as a quiet broker
    hub.call_later(120, lambda: None)  # the next timer is far away: the poll may sleep long
    yield hub
    hub.close()
    left.close()
    right.close()


def test_a_callback_scheduled_by_the_loop_itself_wakes_the_poll(hub):
    assert prompt_acks.install()
    polls, ran = [], threading.Event()
    real_poll = hub.poller.poll

    def poll(timeout):
        events = real_poll(timeout)
        polls.append(events)
        return events

    hub.poller.poll = poll
    # A timer due now runs on the loop thread after this turn's ready callbacks, and schedules
    # a callback there, as a task run by the loop schedules its ack.
    hub.call_later(0, lambda: hub.call_soon(ran.set))
    loop = hub.create_loop()
    next(loop)
    # The poll of that turn returned because the loop was woken (the waker's event), where
    # without the fix it sleeps until its timeout, with nothing to report.
    assert polls and polls[0]
    next(loop)
    assert ran.is_set()


def test_it_can_be_turned_off(hub, monkeypatch):
    monkeypatch.setenv("WORKER_PROMPT_ACKS", "false")
    assert not prompt_acks.install()
    assert Hub.call_soon is not prompt_acks._call_soon_and_wake
