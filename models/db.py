"""The declarative base, the engine and the scoped session every layer shares."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, create_engine, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# One session per thread (request or task); the app and the Celery task base remove it.
session_factory = sessionmaker(expire_on_commit=False)
session = scoped_session(session_factory)
_engines: dict[str, Engine] = {}


def init_engine(url: str, pool_size: int = 5) -> Engine:
    """Bind the shared session to the database at ``url`` (one engine per URL and process)."""
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
        _engines[url] = engine
    bound = session_factory.kw.get("bind")
    # Keep an existing bind to this database (tests bind the session to one connection).
    if bound is None or getattr(bound, "engine", bound) is not engine:
        session_factory.configure(bind=engine)
    return engine


def engines() -> list[Engine]:
    """Every engine this process made (instrumentation hooks onto each)."""
    return list(_engines.values())


def dispose_engines() -> None:
    """Drop pooled connections (after a fork, connections must not be shared)."""
    for engine in _engines.values():
        engine.dispose(close=False)
