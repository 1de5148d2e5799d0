"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.accounts import Role, User
from models.addresses import Address
from models.audit import AuditLog
from models.catalog import Author, Book, BookAuthor, BookGenre, BookStatus, Genre
from models.credentials import LinkPurpose, OneTimeToken, RefreshToken
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
from models.notifications import Notification, NotificationPreference, NotificationStatus

__all__ = [
    "Address",
    "AuditLog",
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
    "LinkPurpose",
    "Notification",
    "NotificationPreference",
    "NotificationStatus",
    "OneTimeToken",
    "ReconciliationReport",
    "RefreshToken",
    "ReservationStatus",
    "Role",
    "Stock",
    "StockMovement",
    "StockReservation",
    "User",
    "Warehouse",
    "session",
]
