"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.accounts import Role, User
from models.catalog import Author, Book, BookAuthor, BookGenre, BookStatus, Genre
from models.db import Base, session
from models.inventory import (
    ReconciliationReport,
    ReservationStatus,
    Stock,
    StockMovement,
    StockReservation,
    Warehouse,
)
from models.jobs import FailedTask, FailedTaskStatus, JobRun, JobStatus

__all__ = [
    "Author",
    "Base",
    "Book",
    "BookAuthor",
    "BookGenre",
    "BookStatus",
    "FailedTask",
    "FailedTaskStatus",
    "Genre",
    "JobRun",
    "JobStatus",
    "ReconciliationReport",
    "ReservationStatus",
    "Role",
    "Stock",
    "StockMovement",
    "StockReservation",
    "User",
    "Warehouse",
    "session",
]
