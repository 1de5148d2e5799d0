"""Start and stop real Celery worker processes for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from config.settings import ROOT
from workers import QUEUES


class WorkerProcess:
    """A ``celery worker`` subprocess serving every queue, with the test environment."""

    def __init__(
        self,
        celery_app,
        name: str = "test",
        concurrency: int = 2,
        queues: tuple[str, ...] = QUEUES,
        env: dict[str, str] | None = None,
        output: str | None = None,
        pool: str = "prefork",
    ) -> None:
        self.celery_app = celery_app
        self.hostname = f"{name}-{uuid.uuid4().hex[:6]}@%h"
        self.concurrency = concurrency
        # A test may run a worker on a private queue with its own settings (env overrides).
        self.queues = queues
        self.env = env or {}
        # A file for the worker's stdout and stderr (its log lines), else the test's own.
        self.output = output
        self.pool = pool
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        sink = open(self.output, "ab") if self.output else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery",
                "worker",
                "--loglevel",
                "WARNING",
                "--pool",
                self.pool,
                "--concurrency",
                str(self.concurrency),
                "--queues",
                ",".join(self.queues),
                "--hostname",
                self.hostname,
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT if sink else None,
        )
        if sink:
            sink.close()  # the worker holds its own copy
        deadline = time.monotonic() + timeout
        node = self.hostname.replace("%h", os.uname().nodename)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}")
            replies = self.celery_app.control.ping(destination=[node], timeout=0.5)
            if replies:
                return
        self.stop()
        raise RuntimeError("worker did not answer a ping in time")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker and its pool processes have used so far."""
        return _tree_cpu_seconds([self.process] if self.process else [])

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """A warm shutdown: SIGTERM to the main process only, which lets the pool finish the
        tasks it is running (SIGTERM to the whole group would kill the pool children first and
        leave WorkerLostError behind). SIGKILL for the whole group if it takes too long."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class LayoutWorkers:
    """The workers of `make run` (run.py's own commands, with these WORKER_* sizes), each
    under a hostname of its own; started and stopped together like a WorkerProcess."""

    NAMES = ("worker", "payments", "io")

    def __init__(self, celery_app, config: dict, name: str = "layout") -> None:
        import run

        self.celery_app = celery_app
        tag = uuid.uuid4().hex[:6]
        self.commands, self.nodes = {}, {}
        for process in self.NAMES:
            command = list(run.processes({**config, "LOG_LEVEL": "WARNING"})[process])
            at = command.index("--hostname") + 1
            command[at] = f"{name}-{process}-{tag}@%h"
            self.commands[process] = command
            self.nodes[process] = f"{name}-{process}-{tag}@{os.uname().nodename}"
        self.processes: list[subprocess.Popen] = []

    def start(self, timeout: float = 60.0) -> None:
        for command in self.commands.values():
            self.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
            )
        deadline = time.monotonic() + timeout
        waiting = set(self.nodes.values())
        while waiting and time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                self.stop()
                raise RuntimeError("a worker of the layout exited")
            replies = self.celery_app.control.ping(destination=list(waiting), timeout=0.5)
            for reply in replies:
                waiting -= reply.keys()
        if waiting:
            self.stop()
            raise RuntimeError(f"workers did not answer a ping in time: {waiting}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the layout's workers and their pools have used so far."""
        return _tree_cpu_seconds(self.processes)

    def stop(self) -> None:
        """Warm shutdown of each (SIGTERM to its main process), SIGKILL if it lingers."""
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self.processes = []


def _tree_cpu_seconds(processes: list[subprocess.Popen]) -> float:
    import psutil

    total = 0.0
    for process in processes:
        try:
            root = psutil.Process(process.pid)
            for each in [root, *root.children(recursive=True)]:
                times = each.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total
