"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.accounts import Role, User
from models.catalog import Author, Book, BookAuthor, BookGenre, BookStatus, Genre
from models.db import Base, session
from models.inventory import Stock, StockMovement, Warehouse

__all__ = [
    "Author",
    "Base",
    "Book",
    "BookAuthor",
    "BookGenre",
    "BookStatus",
    "Genre",
    "Role",
    "Stock",
    "StockMovement",
    "User",
    "Warehouse",
    "session",
]
