"""``make run``: the whole system with one command.

Starts the embedded PostgreSQL and Redis for whichever of DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL the environment does not set, applies the migrations, seeds the catalog when
it is empty, then runs (with honcho) gunicorn, three Celery workers (database-bound queues on
processes; payments, and email/search/notifications, each on a thread pool), Celery beat and
Flower. Ctrl-C or SIGTERM stops the processes, then the embedded services.

``run.py --import-only`` (``make import``) (re)imports the catalog into the configured database
and stops; ``run.py --recommendations-only`` (``make recommendations``) rebuilds the
recommendations there and stops.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from config import secrets, settings
from config.embedded import EmbeddedServices

READY_TIMEOUT_SECONDS = 180.0
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
STOPPED_BY_SIGNAL = (130, 143)  # honcho's return code after SIGINT / SIGTERM
# Which worker of `make run` consumes which queue (payments has its own thread pool).
THREAD_QUEUES = ("email", "search", "notifications")
PREFORK_QUEUES = ("orders", "maintenance", "default", "shipping", "analytics")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--import-only", action="store_true", help="(re)import the catalog, then stop"
    )
    parser.add_argument(
        "--recommendations-only",
        action="store_true",
        help="(re)build the recommendations, then stop",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _raise_interrupt)  # clean stop before honcho takes over
    _become_subreaper()
    try:
        # Before the embedded URLs are exported (they would count as configured services).
        secrets.resolve_secret(os.environ, settings.VAR_DIR)
        secrets.resolve_pii_keys(os.environ, settings.VAR_DIR)
    except secrets.MissingSecret as exc:
        say(f"ERROR: {exc}")
        return 2
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("SECRET_KEY_FILE", str(settings.VAR_DIR / secrets.SECRET_FILE_NAME))
    if not os.environ.get("PII_KEYS"):
        os.environ.setdefault("PII_KEYS_FILE", str(settings.VAR_DIR / secrets.PII_KEYS_FILE_NAME))
    embedded_defaults(os.environ, settings.VAR_DIR)
    services = EmbeddedServices()
    try:
        os.environ.update(services.start())
        config = settings.load()
        say(f"database  {_safe(config['DATABASE_URL'])}")
        say(f"broker    {_safe(config['CELERY_BROKER_URL'])}")
        say(f"redis     {_safe(config['REDIS_URL'])}")
        from models.schema import upgrade

        upgrade(config["DATABASE_URL"])
        say("migrations applied")
        if args.import_only:
            return import_catalog(if_empty=False)
        if args.recommendations_only:
            return subprocess.call([*FLASK, "recommendations", "build"], cwd=settings.ROOT)
        if _catalog_is_empty(config["DATABASE_URL"]):
            import_catalog(if_empty=True)
        else:
            say("catalog already seeded")
        build_recommendations_if_empty(config["DATABASE_URL"])
        subprocess.call([*FLASK, "search", "reindex", "--if-empty"], cwd=settings.ROOT)
        return serve(config, started)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        say("stopping the embedded services")
        services.stop()
        _reap_orphans()
        say("stopped")


def import_catalog(if_empty: bool) -> int:
    """``flask catalog import`` in a child process with the exported URLs."""
    if not _catalog_command_exists():
        say("WARNING: no `flask catalog import` command in this version: catalog not seeded")
        return 0
    command = [*FLASK, "catalog", "import", *(["--if-empty"] if if_empty else [])]
    returncode = subprocess.call(command, cwd=settings.ROOT)
    if returncode:
        say(f"WARNING: the catalog import failed (exit {returncode}); starting anyway")
    return returncode


def build_recommendations_if_empty(database_url: str) -> None:
    """First start: ``flask recommendations build`` in the background, at low priority (the
    endpoints answer with bestsellers until it is done; the nightly job rebuilds it)."""
    if not _recommendations_empty(database_url):
        return
    say("building recommendations in the background")
    subprocess.Popen(
        [*FLASK, "recommendations", "build"],
        cwd=settings.ROOT,
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(10),  # no threads yet at this point
    )


def _recommendations_empty(database_url: str) -> bool:
    from sqlalchemy import create_engine, exists, select
    from sqlalchemy.pool import NullPool

    from models.reviews import RecommendationBuild

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            built = exists().where(RecommendationBuild.current.is_(True))
            return not conn.execute(select(built)).scalar()
    finally:
        engine.dispose()


def serve(config: dict, started: float) -> int:
    from honcho.manager import Manager

    manager = Manager()
    env = _child_environment()
    web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(config)}
    for name, command in processes(config).items():
        manager.add_process(
            name,
            shlex.join(command),
            # The worker writes its task and order metrics next to the API's (one host).
            env=web_env if name in ("web", "worker", "payments", "io") else env,
            cwd=str(settings.ROOT),
        )
    watcher = threading.Thread(
        target=_announce_when_ready, args=(config, started), name="ready", daemon=True
    )
    watcher.start()
    manager.loop()  # returns once every process has stopped
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return 0 if manager.returncode in STOPPED_BY_SIGNAL else (manager.returncode or 0)


# Database connections one payment step holds at its peak (services/payments/authorisation.py).
PAYMENT_STEP_CONNECTIONS = 2


def processes(config: dict) -> dict[str, list[str]]:
    """The commands honcho runs (each in the foreground, each in its own process group)."""
    python, level = sys.executable, config["LOG_LEVEL"].lower()
    celery = [python, "-m", "celery", "--app", "workers.celery"]
    var_dir = config["VAR_DIR"]
    return {
        "web": [
            *[python, "-m", "gunicorn", "wsgi:app"],
            *["--bind", f"127.0.0.1:{config['PORT']}"],
            *["--workers", str(config["WEB_CONCURRENCY"]), "--graceful-timeout", "4"],
            # Threads measured 2-3x the requests/s of sync workers on cached catalog reads
            # (docs/performance.md); each thread may hold one of DATABASE_POOL_SIZE connections.
            *["--worker-class", "gthread", "--threads", str(config["WEB_THREADS"])],
            "--no-control-socket",
            # No gunicorn access log: the app logs one line per request, with its request id.
            *["--log-level", level],
        ],
        # Database-bound steps (orders, housekeeping, shipping, analytics) on processes; short
        # steps, so each process takes a few messages ahead (WORKER_PREFETCH_MULTIPLIER).
        "worker": [
            *celery,
            "worker",
            *["--queues", ",".join(PREFORK_QUEUES), "--events", "--without-mingle"],
            *["--concurrency", str(config["WORKER_CONCURRENCY"]), "--hostname", "bookstore@%h"],
            *["--prefetch-multiplier", str(config["WORKER_PREFETCH_MULTIPLIER"])],
            *["--loglevel", level],
        ],
        # Calls to the payment provider wait on the network: threads, not processes. A payment
        # step holds two database connections at once (its advisory-lock guard across the
        # call, and its session's), so two per thread: with one per thread, a busy pool ran
        # on overflow connections (opened and closed around each step) and then waited for
        # connections (tests/tasks/test_step_connections.py).
        "payments": [
            *[
                "env",
                f"DATABASE_POOL_SIZE={PAYMENT_STEP_CONNECTIONS * config['PAYMENTS_CONCURRENCY']}",
            ],
            *celery,
            "worker",
            *["--queues", "payments", "--events", "--without-mingle"],
            *["--pool", "threads", "--concurrency", str(config["PAYMENTS_CONCURRENCY"])],
            *["--hostname", "payments@%h", "--loglevel", level],
        ],
        # Email, search and notification deliveries wait on SMTP/SES, Elasticsearch and
        # webhooks: threads too, one message each (WORKER_IO_CONCURRENCY threads).
        "io": [
            *["env", f"DATABASE_POOL_SIZE={config['WORKER_IO_CONCURRENCY']}"],
            *celery,
            "worker",
            *["--queues", ",".join(THREAD_QUEUES), "--events", "--without-mingle"],
            *["--pool", "threads", "--concurrency", str(config["WORKER_IO_CONCURRENCY"])],
            *["--prefetch-multiplier", "1", "--hostname", "io@%h", "--loglevel", level],
        ],
        "beat": [
            *celery,
            "beat",
            *["--schedule", os.path.join(var_dir, "celerybeat-schedule"), "--loglevel", level],
        ],
        "flower": [
            *celery,
            "flower",
            # (Flower parses its own options the tornado way: --name=value)
            *["--address=127.0.0.1", f"--port={config['FLOWER_PORT']}"],
            *_flower_auth(),
        ],
    }


def _flower_auth() -> list[str]:
    """Flower's own basic auth from FLOWER_BASIC_AUTH=user:password; said aloud when unset."""
    credentials = os.environ.get("FLOWER_BASIC_AUTH")
    if credentials:
        return [f"--basic-auth={credentials}"]
    say("WARNING: Flower is open (no FLOWER_BASIC_AUTH=user:password): keep it on 127.0.0.1")
    return []


def embedded_defaults(environ, var_dir: Path) -> None:
    """With no service configured (the embedded default): simulated parcels advance on their
    own, so a local order reaches "delivered" (and every notification on the way), and web
    push has a key pair made once under var/ (never a shared one). What is set wins."""
    if any(environ.get(name) for name in secrets.SERVICE_URL_SETTINGS):
        return
    environ.setdefault("CARRIER_SIMULATION", "on")
    if not environ.get("WEBPUSH_VAPID_PRIVATE_KEY"):
        environ.setdefault("WEBPUSH_VAPID_PRIVATE_KEY_FILE", str(secrets.local_vapid_key(var_dir)))


def _child_environment() -> dict[str, str]:
    env = os.environ.copy()
    if not env.get("FLOWER_BASIC_AUTH"):
        # Local use only: Flower's API answers 401 without auth unless this is set.
        env.setdefault("FLOWER_UNAUTHENTICATED_API", "true")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if not env.get("CORS_ORIGINS"):
        # `make run` lets the local frontend (FRONTEND_URL) call the API from the browser.
        env["CORS_ORIGINS"] = env.get("FRONTEND_URL") or "http://localhost:3000"
    return env


def _metrics_dir(config: dict) -> str:
    """/metrics adds up every gunicorn worker's samples from files in this (emptied) folder."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return os.environ["PROMETHEUS_MULTIPROC_DIR"]
    path = os.path.join(config["VAR_DIR"], "prometheus")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def _announce_when_ready(config: dict, started: float) -> None:
    api = f"http://127.0.0.1:{config['PORT']}"
    flower = f"http://127.0.0.1:{config['FLOWER_PORT']}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _answers(f"{api}/readyz") and _answers(f"{flower}/healthcheck"):
            say(
                f"ready in {time.monotonic() - started:.1f} s\n"
                f"  API           {api}/api/v1/books\n"
                f"  Swagger UI    {api}/docs\n"
                f"  OpenAPI       {api}/openapi.json\n"
                f"  health        {api}/healthz  {api}/readyz\n"
                f"  Flower        {flower}/\n"
                "  Ctrl-C stops everything."
            )
            return
        time.sleep(0.5)
    say(f"WARNING: not ready after {READY_TIMEOUT_SECONDS:.0f} s (see {api}/readyz)")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _catalog_is_empty(database_url: str) -> bool:
    """Checked here so a second run does not pay for a ``flask`` process that does nothing."""
    from sqlalchemy import create_engine, exists, select
    from sqlalchemy.pool import NullPool

    from models.catalog import Book

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return not conn.execute(select(exists().where(Book.id.is_not(None)))).scalar()
    finally:
        engine.dispose()


def _catalog_command_exists() -> bool:
    """Cheaper than building the whole app: register the CLI on a bare Flask app."""
    from flask import Flask

    from app.cli import register_cli

    probe = Flask("probe")
    register_cli(probe)
    return "catalog" in probe.cli.commands


def _become_subreaper() -> None:
    """pg_ctl and redis-server daemonize; as a subreaper this process inherits (and reaps)
    their servers, so no zombie is left behind on machines whose init does not reap."""
    if sys.platform.startswith("linux"):
        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _reap_orphans(timeout: float = 5.0) -> None:
    """Collect every exited child (honcho's helpers, the inherited servers)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children left
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    head, sep, tail = url.rpartition("@")
    scheme, _, credentials = head.partition("//")
    if not sep or ":" not in credentials:
        return url
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
