"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.accounts import Role, User
from models.addresses import Address
from models.analytics import DomainEvent, SalesDaily, SalesDailyBook
from models.audit import AuditLog
from models.catalog import Author, Book, BookAuthor, BookGenre, BookStatus, Genre
from models.credentials import LinkPurpose, OneTimeToken, RefreshToken
from models.db import Base, session
from models.inbox import (
    BackInStockRequest,
    InAppNotification,
    NotificationDelivery,
    NotificationEvent,
    PushSubscription,
    UserPhone,
)
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
from models.orders import (
    Cart,
    CartItem,
    CartStatus,
    Order,
    OrderLine,
    OrderStatus,
    OrderStep,
    Payment,
    Shipment,
    StepStatus,
)
from models.outbox import OutboxMessage, ReindexRequest
from models.payments import PaymentReconciliationReport, ProcessedPaymentEvent, Refund
from models.promotions import Promotion, PromotionRedemption
from models.reviews import BookNeighbour, RecommendationBuild, Review, ReviewVote
from models.search import SearchDocument, SearchWord
from models.shipping import ShipmentEvent

__all__ = [
    "Address",
    "AuditLog",
    "Author",
    "BackInStockRequest",
    "Base",
    "Book",
    "BookAuthor",
    "BookGenre",
    "BookNeighbour",
    "BookStatus",
    "Cart",
    "CartItem",
    "CartStatus",
    "DomainEvent",
    "FailedTask",
    "FailedTaskStatus",
    "Genre",
    "InAppNotification",
    "JobRun",
    "JobStatus",
    "LinkPurpose",
    "Notification",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationPreference",
    "NotificationStatus",
    "OneTimeToken",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OrderStep",
    "OutboxMessage",
    "Payment",
    "PaymentReconciliationReport",
    "ProcessedPaymentEvent",
    "Promotion",
    "PromotionRedemption",
    "PushSubscription",
    "RecommendationBuild",
    "ReconciliationReport",
    "RefreshToken",
    "Refund",
    "ReindexRequest",
    "ReservationStatus",
    "Review",
    "ReviewVote",
    "Role",
    "SalesDaily",
    "SalesDailyBook",
    "SearchDocument",
    "SearchWord",
    "Shipment",
    "ShipmentEvent",
    "StepStatus",
    "Stock",
    "StockMovement",
    "StockReservation",
    "User",
    "UserPhone",
    "Warehouse",
    "session",
]
