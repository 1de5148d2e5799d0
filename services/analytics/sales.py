"""The sales roll-up (domain events -> ``sales_daily`` per UTC day and hour) and the report.

Revenue counts when an order is confirmed (its total, in the order's currency); a refund
counts when the order is cancelled after payment or refunded, in the hour it happens."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from models import BookGenre, DomainEvent, Genre, SalesDaily, SalesDailyBook, db
from services.errors import InvalidInput

SALE = "order_confirmed"
REFUNDS = ("order_cancelled", "order_refunded")
SALES_TYPES = (SALE, *REFUNDS)
TOP = 10


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup(limit: int = 5000) -> int:
    """Recompute every hour that has events not rolled up yet, from all of that hour's
    events (so running it again changes nothing). Commits. Returns the hours rebuilt."""
    pending = list(
        db.session.execute(
            select(DomainEvent.id, DomainEvent.occurred_at, DomainEvent.type)
            .where(DomainEvent.rolled_up_at.is_(None))
            .order_by(DomainEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    hours = sorted({_hour(at) for _, at, kind in pending if kind in SALES_TYPES})
    for start in hours:
        _rebuild(start)
    if pending:
        db.session.execute(
            update(DomainEvent)
            .where(DomainEvent.id.in_([row[0] for row in pending]))
            .values(rolled_up_at=datetime.now(UTC))
        )
    db.session.commit()
    return len(hours)


def _rebuild(start: datetime) -> None:
    events = db.session.scalars(
        select(DomainEvent).where(
            DomainEvent.type.in_(SALES_TYPES),
            DomainEvent.occurred_at >= start,
            DomainEvent.occurred_at < start + timedelta(hours=1),
        )
    ).all()
    orders = units = revenue = refunds = refunds_cents = 0
    books: dict[str, list] = defaultdict(lambda: ["", 0, 0])
    for event in events:
        body = event.payload
        if event.type == SALE:
            orders += 1
            revenue += body["total_cents"]
            for line in body["lines"]:
                units += line["quantity"]
                book = books[line["book_id"]]
                book[0] = line["title"]
                book[1] += line["quantity"]
                book[2] += line["line_total_cents"]
        elif body.get("refunded_cents"):
            refunds += 1
            refunds_cents += body["refunded_cents"]
    day, hour = start.date(), start.hour
    values = {
        "orders": orders,
        "units": units,
        "revenue_cents": revenue,
        "refunds": refunds,
        "refunds_cents": refunds_cents,
        "updated_at": datetime.now(UTC),
    }
    db.session.execute(
        insert(SalesDaily)
        .values(day=day, hour=hour, **values)
        .on_conflict_do_update(index_elements=["day", "hour"], set_=values)
    )
    db.session.execute(
        delete(SalesDailyBook).where(SalesDailyBook.day == day, SalesDailyBook.hour == hour)
    )
    for book_id, (title, book_units, book_revenue) in books.items():
        db.session.add(
            SalesDailyBook(
                day=day,
                hour=hour,
                book_id=uuid.UUID(book_id),
                title=title,
                units=book_units,
                revenue_cents=book_revenue,
            )
        )
    db.session.flush()


def _metrics(orders: int, units: int, revenue: int, refunds: int, refunds_cents: int) -> dict:
    return {
        "revenue_cents": int(revenue),
        "orders": int(orders),
        "units": int(units),
        "average_order_value_cents": round(revenue / orders) if orders else 0,
        "refunds": int(refunds),
        "refunds_cents": int(refunds_cents),
    }


def report(start: date, end: date, granularity: str = "day") -> dict:
    """Sales from ``start`` to ``end`` (UTC days, both included) per day or hour, with
    totals, top books and top genres (by units)."""
    if granularity not in ("day", "hour"):
        raise InvalidInput("granularity must be day or hour.", field="granularity")
    if end < start:
        raise InvalidInput("'to' is before 'from'.", field="to")
    if (end - start).days > 366:
        raise InvalidInput("At most 366 days per report.", field="to")
    in_range = (SalesDaily.day >= start, SalesDaily.day <= end)
    sums = (
        func.sum(SalesDaily.orders),
        func.sum(SalesDaily.units),
        func.sum(SalesDaily.revenue_cents),
        func.sum(SalesDaily.refunds),
        func.sum(SalesDaily.refunds_cents),
    )
    keys = (SalesDaily.day,) if granularity == "day" else (SalesDaily.day, SalesDaily.hour)
    rows = db.session.execute(
        select(*keys, *sums).where(*in_range).group_by(*keys).order_by(*keys)
    ).all()
    buckets = []
    for row in rows:
        hour = row[1] if granularity == "hour" else 0
        begins = datetime.combine(row[0], time(hour), tzinfo=UTC)
        buckets.append({"start": begins, **_metrics(*row[len(keys) :])})
    totals = db.session.execute(select(*sums).where(*in_range)).one()
    return {
        "from": start,
        "to": end,
        "granularity": granularity,
        "totals": _metrics(*(value or 0 for value in totals)),
        "buckets": buckets,
        "top_books": _top_books(start, end),
        "top_genres": _top_genres(start, end),
    }


def _top_books(start: date, end: date) -> list[dict]:
    units = func.sum(SalesDailyBook.units)
    rows = db.session.execute(
        select(
            SalesDailyBook.book_id,
            func.max(SalesDailyBook.title),
            units,
            func.sum(SalesDailyBook.revenue_cents),
        )
        .where(SalesDailyBook.day >= start, SalesDailyBook.day <= end)
        .group_by(SalesDailyBook.book_id)
        .order_by(units.desc(), SalesDailyBook.book_id)
        .limit(TOP)
    ).all()
    return [
        {"book_id": book_id, "title": title, "units": int(n), "revenue_cents": int(cents)}
        for book_id, title, n, cents in rows
    ]


def _top_genres(start: date, end: date) -> list[dict]:
    units = func.sum(SalesDailyBook.units)
    rows = db.session.execute(
        select(Genre.slug, Genre.name, units, func.sum(SalesDailyBook.revenue_cents))
        .join(BookGenre, BookGenre.book_id == SalesDailyBook.book_id)
        .join(Genre, Genre.id == BookGenre.genre_id)
        .where(SalesDailyBook.day >= start, SalesDailyBook.day <= end)
        .group_by(Genre.slug, Genre.name)
        .order_by(units.desc(), Genre.slug)
        .limit(TOP)
    ).all()
    return [
        {"genre": slug, "name": name, "units": int(n), "revenue_cents": int(cents)}
        for slug, name, n, cents in rows
    ]


CSV_COLUMNS = (
    "start",
    "orders",
    "units",
    "revenue_cents",
    "average_order_value_cents",
    "refunds",
    "refunds_cents",
)


def report_csv(body: dict) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for bucket in body["buckets"]:
        writer.writerow([bucket["start"].isoformat(), *(bucket[c] for c in CSV_COLUMNS[1:])])
    return out.getvalue()
