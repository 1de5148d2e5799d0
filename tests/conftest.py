"""Test fixtures: a real PostgreSQL test database, real RabbitMQ and Redis, real workers.

The services come from TEST_DATABASE_URL, TEST_BROKER_URL and TEST_REDIS_URL (defaults: the
local services on 127.0.0.1). They are exported as the app's own settings before anything is
imported, so that workers started by the tests see the same ones.
"""

from __future__ import annotations

import base64
import os

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bookstore_test"
)
TEST_BROKER_URL = os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

os.environ.update(
    DATABASE_URL=TEST_DATABASE_URL,
    CELERY_BROKER_URL=TEST_BROKER_URL,
    REDIS_URL=TEST_REDIS_URL,
    CELERY_RESULT_BACKEND=TEST_REDIS_URL,
    SECRET_KEY="test-secret-key-not-for-production",
    # One AES-256 key per test run (workers started by the tests inherit it).
    PII_KEYS="test1:" + base64.urlsafe_b64encode(os.urandom(32)).decode(),
    LOG_LEVEL="WARNING",
    # The diagnostic tasks (tasks.diagnostics.*) exist only where this is set.
    ENABLE_DIAGNOSTIC_TASKS="true",
)

import pytest  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from models import Base, db  # noqa: E402
from tests.support.database import recreate_database  # noqa: E402
from tests.support.workers import WorkerProcess  # noqa: E402

pytest_plugins: list[str] = ["tests.support.aws"]


@pytest.fixture(scope="session")
def app():
    """The Flask app on a freshly created and migrated test database."""
    recreate_database(TEST_DATABASE_URL)
    flask_app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    flask_app.extensions["celery"].control.purge()
    yield flask_app
    db.session.remove()


@pytest.fixture(scope="session")
def engine(app):
    return db.init_engine(app.config["DATABASE_URL"])


@pytest.fixture(autouse=True)
def _clean_redis():
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def _error_ids_documented(request):
    """Tests that use the app: every error id it answers is one the document declares for
    that operation (tests/support/error_ids.py)."""
    if "app" not in request.fixturenames or request.node.get_closest_marker("error_ids_unwatched"):
        yield
        return
    from tests.support.error_ids import ErrorIdWatch

    with ErrorIdWatch(request.getfixturevalue("app")) as watch:
        yield
    assert not watch.undocumented, "answers the OpenAPI document does not declare:\n" + "\n".join(
        dict.fromkeys(watch.undocumented)
    )


@pytest.fixture
def session(app, engine):
    """Per-test isolation: everything the test (and the app under test) writes is rolled back."""
    connection = engine.connect()
    outer = connection.begin()
    db.session.remove()
    db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session_factory.configure(bind=engine, join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()


def truncate_all(engine) -> None:
    """Empty every table and restore the rows the migrations seed (the default warehouse)."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "INSERT INTO warehouses (id, code, name, is_default) "
                "VALUES (gen_random_uuid(), 'main', 'Main warehouse', true)"
            )
        )


@pytest.fixture
def committed(app, engine):
    """For tests whose data other processes (workers, threads) must see: real commits,
    every table emptied afterwards."""
    db.session.remove()
    yield db.session
    db.session.remove()
    truncate_all(engine)


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture(scope="session")
def worker(app):
    """One real Celery worker over the test broker, serving every queue, for the session."""
    process = WorkerProcess(app.extensions["celery"], name="session")
    process.start()
    yield process
    process.stop()
