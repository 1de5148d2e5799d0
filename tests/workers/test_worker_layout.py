"""The worker layout `make run` starts: each queue consumed by the intended pool, sized by the
WORKER_* settings (the real commands of run.py, on the test broker)."""

from __future__ import annotations

import time

import pytest

from tests.support.workers import LayoutWorkers
from workers import QUEUES

pytestmark = [pytest.mark.worker]


@pytest.fixture
def make_run_workers(app):
    sizes = {
        "WORKER_CONCURRENCY": 2,
        "WORKER_PREFETCH_MULTIPLIER": 3,
        "PAYMENTS_CONCURRENCY": 5,
        "WORKER_IO_CONCURRENCY": 6,
    }
    layout = LayoutWorkers(app.extensions["celery"], {**app.config, **sizes})
    layout.start()
    try:
        yield layout.nodes
    finally:
        layout.stop()


def _inspect_until_all_answer(celery_app, nodes: list[str], timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspect = celery_app.control.inspect(destination=nodes, timeout=1.0)
        queues, stats = inspect.active_queues() or {}, inspect.stats() or {}
        if set(nodes) <= queues.keys() and set(nodes) <= stats.keys():
            return queues, stats
        time.sleep(0.5)
    raise AssertionError(f"not every worker answered: {nodes}")


def test_make_run_consumes_each_queue_with_the_intended_pool(app, make_run_workers):
    # Given the three workers of `make run`, started with run.py's own commands
    nodes = make_run_workers

    # When each is asked what it consumes and how it runs
    queues, stats = _inspect_until_all_answer(app.extensions["celery"], list(nodes.values()))
    consumed = {name: {q["name"] for q in queues[node]} for name, node in nodes.items()}
    pools = {name: stats[node]["pool"] for name, node in nodes.items()}

    # Then every queue is consumed by exactly one of them, the intended one
    assert consumed == {
        "worker": {"orders", "maintenance", "default", "shipping", "analytics"},
        "payments": {"payments"},
        "io": {"email", "search", "notifications"},
    }
    assert sorted(q for names in consumed.values() for q in names) == sorted(QUEUES)
    # And database-bound work runs on processes, calls that wait on the network on threads,
    # each sized by its setting
    assert "prefork" in pools["worker"]["implementation"]
    assert pools["worker"]["max-concurrency"] == 2
    assert "thread" in pools["payments"]["implementation"]
    assert pools["payments"]["max-concurrency"] == 5
    assert "thread" in pools["io"]["implementation"]
    assert pools["io"]["max-concurrency"] == 6
    # And the short database steps reserve messages ahead (prefetch = multiplier x processes)
    assert stats[nodes["worker"]]["prefetch_count"] == 2 * 3
    assert stats[nodes["io"]]["prefetch_count"] == 6


def test_the_compose_file_runs_the_same_split():
    # Given the compose file's worker services
    import yaml

    from config.settings import ROOT

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    layout = {}
    for name, service in services.items():
        command = service.get("command") or []
        if "worker" not in command:
            continue
        options = dict(part.removeprefix("--").split("=", 1) for part in command if "=" in part)
        layout[name] = (set(options["queues"].split(",")), options.get("pool", "prefork"))

    # Then every queue is consumed exactly once, the network-bound ones on threads
    queues = [queue for consumed, _ in layout.values() for queue in consumed]
    assert sorted(queues) == sorted(QUEUES)
    pool_of = {queue: pool for consumed, pool in layout.values() for queue in consumed}
    for queue in ("payments", "email", "search", "notifications"):
        assert pool_of[queue] == "threads", queue
    assert pool_of["orders"] == "prefork"
