"""The web_push channel against a local push-service peer over real HTTP: subscriptions only to
allowed push services, payloads that decrypt with the browser's keys and carry a valid VAPID
signature, 410 removes the subscription, redirects are not followed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from models import NotificationDelivery, PushSubscription, db
from services.notifications import channels, events, web_push
from tests.factories import auth_headers, make_book, make_user
from tests.support.notifications import dispatch
from tests.support.push_peer import PushPeer


def vapid_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.fixture
def push(app, monkeypatch):
    """The app configured with a VAPID key and the peer's origin allowed; yields the peer."""
    monkeypatch.setitem(app.config, "WEBPUSH_VAPID_PRIVATE_KEY", vapid_pem())
    public = app.test_client().get("/api/v1/push/vapid-public-key").get_json()["public_key"]
    peer = PushPeer(public).start()
    monkeypatch.setitem(app.config, "WEBPUSH_EXTRA_ORIGINS", peer.base)
    yield peer
    peer.stop()


def _notify_back_in_stock(user, title: str, config) -> dict[str, tuple[str, str | None]]:
    book = make_book(title)
    key = f"back_in_stock:{book.id}:{user.id}"
    events.notify("back_in_stock", user.id, {"book_id": str(book.id), "title": title}, key)
    db.session.commit()
    return dispatch(key, config)


def test_a_subscribed_browser_gets_the_payload_encrypted_and_signed(client, app, push):
    user = make_user()
    headers = auth_headers(app, user)
    browser, subscription = push.subscribe()

    created = client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)
    again = client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)
    listed = client.get("/api/v1/me/push-subscriptions", headers=headers).get_json()["items"]
    preferences = client.get("/api/v1/me/notification-preferences", headers=headers).get_json()
    log = _notify_back_in_stock(user, "Pushed Book", app.config)

    assert created.status_code == 201 and again.status_code == 201
    assert [item["endpoint"] for item in listed] == [subscription["endpoint"]]
    # the first subscription turned push on (order updates and back in stock, not marketing)
    assert preferences["back_in_stock"]["web_push"] is True
    assert preferences["order_updates"]["web_push"] is True
    assert preferences["marketing"]["web_push"] is False
    assert log["web_push"] == ("sent", None)
    assert push.refused == []
    [message] = browser.received
    assert message["event"] == "back_in_stock" and message["title"] == "Back in stock"
    assert message["body"] == "Pushed Book is back in stock."
    assert message["url"].startswith("/books/")


def test_a_gone_subscription_is_removed_and_push_is_skipped(client, app, push):
    user = make_user()
    headers = auth_headers(app, user)
    gone, subscription = push.subscribe(answer=410)
    client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)

    log = _notify_back_in_stock(user, "Gone Book", app.config)
    again = _notify_back_in_stock(user, "Later Book", app.config)

    assert log["web_push"] == ("skipped", "push_subscription_gone")
    assert db.session.scalar(select(PushSubscription.id).limit(1)) is None
    assert again["web_push"] == ("skipped", "no_push_subscription")
    assert gone.received == [] and push.refused == []


def test_a_redirecting_push_service_is_not_followed(client, app, push):
    user = make_user()
    headers = auth_headers(app, user)
    browser, subscription = push.subscribe(answer=307)
    client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)

    log = _notify_back_in_stock(user, "Moved Book", app.config)

    assert log["web_push"] == ("failed", None)
    assert browser.received == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://evil.example.com/push/abc",  # not a push service
        "https://fcm.googleapis.com.evil.example/x",  # a lookalike host
        "https://user:pw@fcm.googleapis.com/fcm/send/abc",  # credentials in the URL
        "https://fcm.googleapis.com:8443/fcm/send/abc",  # another port
        "https://127.0.0.1/push/abc",
        "https://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://push.apple.com/x",  # only its subdomains are push services
    ],
)
def test_endpoints_outside_the_allow_list_are_refused(client, app, push, endpoint):
    headers = auth_headers(app, make_user())
    _, subscription = push.subscribe()

    answer = client.post(
        "/api/v1/me/push-subscriptions",
        json={**subscription, "endpoint": endpoint},
        headers=headers,
    )

    assert answer.status_code == 422
    assert answer.get_json()["error"] == "push_endpoint_not_allowed"
    assert db.session.scalar(select(PushSubscription.id).limit(1)) is None


def test_known_push_services_are_accepted_and_bad_keys_refused(client, app, push):
    user = make_user()
    headers = auth_headers(app, user)
    _, subscription = push.subscribe()
    keys = subscription["keys"]
    endpoints = [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
    ]

    accepted = [
        client.post(
            "/api/v1/me/push-subscriptions",
            json={"endpoint": endpoint, "keys": keys, "expirationTime": None},
            headers=headers,
        ).status_code
        for endpoint in endpoints
    ]
    not_a_point = client.post(
        "/api/v1/me/push-subscriptions",
        json={"endpoint": endpoints[0] + "x", "keys": {**keys, "p256dh": "B" + "A" * 86}},
        headers=headers,
    )
    mine = client.get("/api/v1/me/push-subscriptions", headers=headers).get_json()["items"]
    other = client.delete(
        f"/api/v1/me/push-subscriptions/{mine[0]['id']}",
        headers=auth_headers(app, make_user()),
    )
    removed = client.delete(f"/api/v1/me/push-subscriptions/{mine[0]['id']}", headers=headers)

    assert accepted == [201, 201, 201]
    assert not_a_point.status_code == 422
    assert not_a_point.get_json()["error"] == "invalid_push_subscription"
    assert other.status_code == 404 and other.get_json()["error"] == "push_subscription_not_found"
    assert removed.status_code == 204
    assert (
        len(client.get("/api/v1/me/push-subscriptions", headers=headers).get_json()["items"]) == 2
    )


def test_without_a_vapid_key_push_is_not_offered(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBPUSH_VAPID_PRIVATE_KEY", None)

    answer = client.get("/api/v1/push/vapid-public-key")

    assert answer.status_code == 404 and answer.get_json()["error"] == "push_not_configured"


def test_a_failing_push_service_is_retried_then_delivered(client, app, push):
    user = make_user()
    headers = auth_headers(app, user)
    browser, subscription = push.subscribe(answer=503)
    client.post("/api/v1/me/push-subscriptions", json=subscription, headers=headers)
    book = make_book("Retried Book")
    key = f"back_in_stock:{book.id}:{user.id}"
    events.notify("back_in_stock", user.id, {"book_id": str(book.id), "title": "Retried"}, key)
    db.session.commit()
    event_id = db.session.scalar(
        select(events.NotificationEvent.id).where(events.NotificationEvent.dedupe_key == key)
    )
    delivery_id = dict((c, d) for d, c in events.fan_out(event_id))["web_push"]

    with pytest.raises(web_push.TransientPushError):
        channels.deliver(delivery_id, app.config)
    waiting = db.session.get(NotificationDelivery, delivery_id)
    state = (waiting.status, waiting.attempts, waiting.last_error)
    browser.answer = 201  # the push service is back
    retried = channels.deliver(delivery_id, app.config)

    assert state == ("queued", 1, "503: Push failed: 503 Service Unavailable\nResponse body:")
    assert retried == "sent"
    assert [message["body"] for message in browser.received] == ["Retried is back in stock."]


def test_subscriptions_per_user_are_capped(client, app, push, monkeypatch):
    monkeypatch.setitem(app.config, "WEBPUSH_MAX_SUBSCRIPTIONS", 2)
    headers = auth_headers(app, make_user())

    answers = [
        client.post(
            "/api/v1/me/push-subscriptions", json=push.subscribe()[1], headers=headers
        ).status_code
        for _ in range(3)
    ]
    third = client.post("/api/v1/me/push-subscriptions", json=push.subscribe()[1], headers=headers)

    assert answers == [201, 201, 409]
    assert third.get_json()["error"] == "too_many_push_subscriptions"
