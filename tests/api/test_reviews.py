"""Reviews API: one per shopper, sorts and cursor pages, helpful votes, moderation, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import (
    AuditLog,
    Book,
    Notification,
    NotificationEvent,
    OutboxMessage,
    Review,
    Role,
    db,
)
from services.notifications import channels, events
from tests.factories import auth_headers, make_book, make_user


@pytest.fixture
def book(session):
    return make_book("The Hobbit")


def shopper(app, name="Ada Lovelace"):
    user = make_user()
    user.name = name
    db.session.commit()
    return user, auth_headers(app, user)


def post_review(client, book, headers, **fields):
    body = {"rating": 4, "body": "Lovely.", **fields}
    return client.post(f"/api/v1/books/{book.id}/reviews", json=body, headers=headers)


def test_a_shopper_reviews_a_book_once_and_the_summary_work_is_recorded(client, app, book):
    user, headers = shopper(app)

    first = post_review(client, book, headers, title="There and back", body="<b>Fun</b>")
    second = post_review(client, book, headers)

    assert first.status_code == 201
    review = first.get_json()
    assert review["user"] == {"id": str(user.id), "display_name": "Ada L."}
    assert review["rating"] == 4 and review["title"] == "There and back"
    assert review["body"] == "<b>Fun</b>"  # plain text, stored and returned as sent
    assert review["verified_purchase"] is False and review["helpful_count"] == 0
    assert second.status_code == 409 and second.get_json()["error"] == "review_exists"
    kinds = db.session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.kind == "rating_summary")
    )
    assert list(kinds) == [{"book_id": str(book.id)}]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"rating": 0}, 422),
        ({"rating": 6}, 422),
        ({"rating": 1.5}, 422),
        ({"rating": "4"}, 422),
        ({"body": "x" * 10_001}, 422),
        ({"body": ""}, 422),
        ({"body": "   "}, 422),
        ({"title": "t" * 201}, 422),
        ({"body": "bell \x07 here"}, 422),
        ({"title": "null \x00"}, 422),
    ],
)
def test_bad_reviews_are_answered_with_error_bodies(client, app, book, fields, status):
    _, headers = shopper(app)

    response = post_review(client, book, headers, **fields)

    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and body["error"] == "validation_error" and body["message"]
    assert db.session.scalar(select(Review).where(Review.book_id == book.id)) is None


def test_line_breaks_and_tabs_are_text(client, app, book):
    _, headers = shopper(app)
    response = post_review(client, book, headers, body="One.\n\tTwo.\r\n")
    assert response.status_code == 201 and response.get_json()["body"] == "One.\n\tTwo.\r\n"


def test_anonymous_and_unknown_books_are_refused(client, app, book):
    _, headers = shopper(app)
    anonymous = client.post(f"/api/v1/books/{book.id}/reviews", json={"rating": 4, "body": "x"})
    missing = post_review(
        client, type("B", (), {"id": "00000000-0000-0000-0000-000000000000"}), headers
    )

    assert anonymous.status_code == 401 and anonymous.get_json()["error"]
    assert missing.status_code == 404


def test_edit_and_withdraw_my_review(client, app, book):
    _, headers = shopper(app)
    post_review(client, book, headers)

    changed = client.patch(
        f"/api/v1/books/{book.id}/reviews/mine", json={"rating": 2}, headers=headers
    )
    deleted = client.delete(f"/api/v1/books/{book.id}/reviews/mine", headers=headers)
    again = client.delete(f"/api/v1/books/{book.id}/reviews/mine", headers=headers)

    assert changed.status_code == 200 and changed.get_json()["rating"] == 2
    assert changed.get_json()["body"] == "Lovely."
    assert deleted.status_code == 204
    assert again.status_code == 404 and again.get_json()["error"] == "review_not_found"


def test_sorts_and_cursor_pages(client, app, book):
    ids = []
    for rating in (3, 5, 1, 4, 2):
        _, headers = shopper(app)
        ids.append(post_review(client, book, headers, rating=rating).get_json()["id"])
    voter_headers = shopper(app)[1]
    client.post(f"/api/v1/reviews/{ids[2]}/helpful", headers=voter_headers)

    def all_pages(sort):
        seen, cursor = [], None
        while True:
            query = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"/api/v1/books/{book.id}/reviews", query_string=query).get_json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    newest = all_pages("newest")
    by_rating = all_pages("rating")
    helpful = all_pages("helpful")
    forged = client.get(f"/api/v1/books/{book.id}/reviews", query_string={"cursor": "abc"})

    assert [r["id"] for r in newest] == ids[::-1]
    assert [r["rating"] for r in by_rating] == [5, 4, 3, 2, 1]
    assert helpful[0]["id"] == ids[2] and helpful[0]["helpful_count"] == 1
    assert len(helpful) == 5
    assert forged.status_code == 400 and forged.get_json()["error"] == "invalid_cursor"


def test_helpful_votes_count_once_and_never_for_oneself(client, app, book):
    _, author_headers = shopper(app)
    review_id = post_review(client, book, author_headers).get_json()["id"]
    _, voter = shopper(app)

    first = client.post(f"/api/v1/reviews/{review_id}/helpful", headers=voter)
    twice = client.post(f"/api/v1/reviews/{review_id}/helpful", headers=voter)
    own = client.post(f"/api/v1/reviews/{review_id}/helpful", headers=author_headers)
    anonymous = client.post(f"/api/v1/reviews/{review_id}/helpful")

    assert first.status_code == 200 and first.get_json()["helpful_count"] == 1
    assert twice.status_code == 409 and twice.get_json()["error"] == "already_voted"
    assert own.status_code == 403 and own.get_json()["error"] == "own_review"
    assert anonymous.status_code == 401
    assert db.session.get(Review, review_id).helpful_count == 1


def test_staff_hide_a_review_audited_and_the_author_is_told(client, app, book):
    author, author_headers = shopper(app)
    review_id = post_review(client, book, author_headers).get_json()["id"]
    staff = make_user(role=Role.STAFF)
    staff_headers = auth_headers(app, staff)

    customer = client.post(
        f"/api/v1/reviews/{review_id}/hide", json={"reason": "spoilers"}, headers=author_headers
    )
    no_reason = client.post(f"/api/v1/reviews/{review_id}/hide", json={}, headers=staff_headers)
    hidden = client.post(
        f"/api/v1/reviews/{review_id}/hide", json={"reason": "spoilers"}, headers=staff_headers
    )
    listed = client.get(f"/api/v1/books/{book.id}/reviews").get_json()["items"]
    vote = client.post(f"/api/v1/reviews/{review_id}/helpful", headers=shopper(app)[1])
    shown = client.post(f"/api/v1/reviews/{review_id}/unhide", headers=staff_headers)
    listed_again = client.get(f"/api/v1/books/{book.id}/reviews").get_json()["items"]

    assert customer.status_code == 403
    assert no_reason.status_code == 422
    assert hidden.status_code == 200 and hidden.get_json()["hidden"] is True
    assert listed == [] and vote.status_code == 404
    assert shown.status_code == 200 and shown.get_json()["hidden"] is False
    assert [r["id"] for r in listed_again] == [review_id]
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "review").order_by(AuditLog.id)
    ).all()
    assert [(a.action, a.actor_id, a.after["hidden"]) for a in audit] == [
        ("hide", staff.id, True),
        ("unhide", staff.id, False),
    ]
    # The author is told through the dispatcher (what its worker does, here in-process).
    told = db.session.scalars(
        select(NotificationEvent)
        .where(NotificationEvent.user_id == author.id)
        .order_by(NotificationEvent.created_at)
    ).all()
    assert [event.event for event in told] == ["review_hidden", "review_restored"]
    for event in told:
        for delivery_id, _ in events.fan_out(event.id):
            channels.deliver(delivery_id, app.config)
    mails = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == author.id)
        .order_by(Notification.created_at)
    ).all()
    mails = sorted(mails, key=lambda m: m.template)
    assert [(m.template, m.status) for m in mails] == [
        ("review_hidden", "sent"),
        ("review_restored", "sent"),
    ]
    assert "The Hobbit" in mails[0].subject
    inbox = client.get("/api/v1/me/notifications", headers=author_headers).get_json()
    # (one test transaction: both rows have the same created_at, so no order is asserted)
    bodies = {item["event"]: item["body"] for item in inbox["items"]}
    assert set(bodies) == {"review_hidden", "review_restored"}
    assert bodies["review_hidden"].endswith(": spoilers")


def test_review_writes_are_rate_limited_per_user(client, app):
    app.config["RATE_LIMIT_REVIEW_WRITES"] = "3 per hour"
    try:
        _, headers = shopper(app)
        _, other = shopper(app)
        books = [make_book(f"Book {n}") for n in range(4)]
        answers = [post_review(client, b, headers).status_code for b in books]
        others = post_review(client, books[0], other).status_code
    finally:
        app.config["RATE_LIMIT_REVIEW_WRITES"] = "20 per hour"

    assert answers == [201, 201, 201, 429]
    assert others == 201


def test_book_detail_shows_a_histogram_that_adds_up(client, book):
    body = client.get(f"/api/v1/books/{book.id}").get_json()
    assert body["rating_histogram"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert sum(body["rating_histogram"].values()) == body["ratings_count"]
    assert db.session.get(Book, book.id).rating_histogram is None
