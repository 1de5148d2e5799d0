"""A worker whose JSON log lines and metrics a test can read, and helpers to read them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.workers import WorkerProcess
from workers import QUEUES


@contextmanager
def observed_worker(
    celery_app, tmp_path: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[WorkerProcess, Path, Path]]:
    """A real worker logging JSON at INFO to a file, writing its metrics to a multiprocess
    folder; every other worker of this broker stops consuming meanwhile, so this one runs
    every task the test causes."""
    log_file = tmp_path / "worker.log"
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    worker = WorkerProcess(
        celery_app,
        name="observed",
        concurrency=2,
        env={
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **(env or {}),
        },
        output=str(log_file),
    )
    others = [name for reply in celery_app.control.ping(timeout=0.5) for name in reply]
    for queue in QUEUES:
        if others:
            celery_app.control.cancel_consumer(queue, destination=others, reply=True)
    worker.start()
    try:
        yield worker, log_file, metrics_dir
    finally:
        worker.stop()
        for queue in QUEUES:
            if others:
                celery_app.control.add_consumer(queue, destination=others, reply=True)


def json_lines(path: Path) -> list[dict]:
    """The JSON log records in ``path`` (other lines, e.g. Celery's banner, are skipped)."""
    records = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def samples(metrics_text: str) -> dict[tuple[str, tuple], float]:
    """A /metrics scrape as {(sample name, sorted labels): value}."""
    found = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, tuple(sorted((k, str(v)) for k, v in labels.items()))), 0.0)


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def metric_names(metrics_text: str) -> set[str]:
    """Every name a query may use: the declared families (a labelled counter nobody has
    incremented yet is declared, without samples) with their sample suffixes."""
    names = set()
    for family in text_string_to_metric_families(metrics_text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def multiprocess_env(metrics_dir: Path):
    """For ``monkeypatch.setenv``: /metrics adds up the samples in ``metrics_dir``."""
    return ("PROMETHEUS_MULTIPROC_DIR", os.fspath(metrics_dir))


MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "bookstore.json"
ALERTS = MONITORING / "alerts.yml"
_METRIC = re.compile(r"\b(bookstore_[a-z_]+)\b")


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metrics_named_in(queries: list[str]) -> set[str]:
    return {name for query in queries for name in _METRIC.findall(query)}
