"""The signed-in user: profile, address book, notifications and their preferences."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.account_schemas import (
    AddressListSchema,
    AddressPatchSchema,
    AddressSchema,
    InAppNotificationListSchema,
    InAppNotificationSchema,
    NotificationListSchema,
    NotificationPageArgsSchema,
    NotificationPreferencesSchema,
    NotifyMeSchema,
    ProfileUpdateSchema,
    UserSchema,
)
from app.api.base import Blueprint, Schema, contract
from app.auth import login_required, require_user
from app.extensions import limiter
from services.accounts import addresses
from services.accounts import users as accounts
from services.notifications import back_in_stock, channels, preferences, quiet_hours, sms, web_push
from services.notifications import delivery as notifications
from services.privacy import erasure
from tasks.chains import send_recorded


class ErasureSchema(Schema):
    status = fields.String(metadata={"enum": ["erasure_scheduled"]})


blp = Blueprint("me", __name__, description="The signed-in user.")


@blp.route("/me")
class Me(MethodView):
    decorators = [login_required]

    @blp.response(200, UserSchema)
    def get(self):
        """Your profile."""
        return require_user()

    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, body):
        """Change your profile (name)."""
        return accounts.update_profile(require_user(), name=body.get("name"))

    @blp.response(202, ErasureSchema)
    def delete(self):
        """Erase your account and personal data (202: you are signed out now, a worker erases).

        Profile, addresses, phone, notifications and the names and address lines on your orders
        are removed shortly after by a worker; your orders stay for the books, anonymised."""
        outbox_ids = erasure.request_erasure(require_user())
        send_recorded(current_app.extensions["celery"], outbox_ids)
        return {"status": "erasure_scheduled"}


@blp.route("/me/addresses")
class Addresses(MethodView):
    decorators = [login_required]

    @blp.response(200, AddressListSchema)
    def get(self):
        """Your address book."""
        return {"items": addresses.list_for(require_user()), "next_cursor": None}

    @blp.arguments(AddressSchema)
    @blp.response(201, AddressSchema)
    def post(self, body):
        """Add an address."""
        return addresses.create(require_user(), body)


@blp.route("/me/addresses/<uuid:address_id>")
class AddressById(MethodView):
    decorators = [login_required]

    @blp.arguments(AddressPatchSchema(partial=True))
    @blp.response(200, AddressSchema)
    @blp.alt_response(404, description="not_found (also for another user's address)")
    def patch(self, body, address_id: uuid.UUID):
        """Change one of your addresses."""
        return addresses.update(require_user(), address_id, body)

    @blp.response(204)
    @blp.alt_response(404, description="not_found (also for another user's address)")
    def delete(self, address_id: uuid.UUID):
        """Delete one of your addresses."""
        addresses.delete(require_user(), address_id)


@blp.route("/me/notifications")
class Notifications(MethodView):
    decorators = [login_required]

    @blp.arguments(NotificationPageArgsSchema, location="query")
    @blp.response(200, InAppNotificationListSchema)
    def get(self, args):
        """Your in-app notifications, newest first, with ``read_at`` and the unread count."""
        user = require_user()
        items, next_cursor = channels.inbox(user, args["limit"], args.get("cursor"))
        return {
            "items": items,
            "next_cursor": next_cursor,
            "unread": channels.unread_count(user.id),
        }


@blp.route("/me/notifications/<uuid:notification_id>/read")
class NotificationRead(MethodView):
    decorators = [login_required]

    @blp.response(200, InAppNotificationSchema)
    @blp.alt_response(404, description="notification_not_found")
    def post(self, notification_id: uuid.UUID):
        """Mark one of your notifications read."""
        return channels.mark_read(require_user(), notification_id)


@blp.route("/me/notifications/emails")
class NotificationEmails(MethodView):
    decorators = [login_required]

    @blp.arguments(NotificationPageArgsSchema, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args):
        """The emails sent (or being sent) to you, newest first, with their status."""
        items, next_cursor = notifications.list_for_user(
            require_user(), args["limit"], args.get("cursor")
        )
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/me/notification-preferences")
class NotificationPreferences(MethodView):
    decorators = [login_required]

    @blp.response(200, NotificationPreferencesSchema)
    def get(self):
        """What you are told about, per category and channel."""
        return preferences.get(require_user().id)

    @contract(quiet_hours.InvalidQuietHours)
    @blp.arguments(NotificationPreferencesSchema)
    @blp.response(200, NotificationPreferencesSchema)
    def put(self, body):
        """Change what you are told about (only the categories and channels sent change;
        account emails always go)."""
        return preferences.update(require_user(), body)


@blp.route("/books/<uuid:book_id>/notify-me")
class NotifyMe(MethodView):
    decorators = [login_required]

    @blp.response(202, NotifyMeSchema)
    @blp.alt_response(404, description="book_not_found")
    def post(self, book_id: uuid.UUID):
        """Tell me once when this book is back in stock."""
        return back_in_stock.ask(require_user(), book_id)


PHONE_RATE_LIMITED = "Too many phone changes or code checks; wait a little and try again."


def _per_user(scope: str):
    """A limit per signed-in user (the views answer 401 to anyone else first)."""

    def key() -> str:
        return f"{scope}:{require_user().id}"

    return limiter.limit(
        lambda: current_app.config[f"RATE_LIMIT_{scope.upper().replace('-', '_')}"],
        key_func=key,
        scope=scope,
        error_message=PHONE_RATE_LIMITED,
    )


class PhoneSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=40))


class PhoneCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(equal=6))


class PhoneStatusSchema(Schema):
    phone = fields.String(attribute="phone_e164")
    verified = fields.Function(lambda phone: phone.verified_at is not None)


@blp.route("/me/phone")
class Phone(MethodView):
    decorators = [_per_user("phone"), login_required]

    @contract(sms.InvalidPhone)
    @blp.alt_response(429, description="`rate_limited`: `RATE_LIMIT_PHONE` per user.")
    @blp.arguments(PhoneSchema)
    @blp.response(202, PhoneStatusSchema)
    def put(self, body):
        """Set your phone for SMS notifications; a 6-digit code is texted to it."""
        return sms.start_verification(require_user(), body["phone"], current_app.config)


@blp.route("/me/phone/verify")
class PhoneVerify(MethodView):
    decorators = [_per_user("phone-verify"), login_required]

    @contract(sms.InvalidPhoneCode)
    @blp.alt_response(429, description="`rate_limited`: `RATE_LIMIT_PHONE_VERIFY` per user.")
    @blp.arguments(PhoneCodeSchema)
    @blp.response(200, PhoneStatusSchema)
    def post(self, body):
        """Confirm your phone with the code texted to it."""
        return sms.verify(require_user(), body["code"], current_app.config)


class PushKeysSchema(Schema):
    p256dh = fields.String(
        required=True,
        validate=validate.Length(min=80, max=100),
        metadata={"description": "The browser's P-256 public key (base64url, 65 bytes)."},
    )
    auth = fields.String(
        required=True,
        validate=validate.Length(min=20, max=32),
        metadata={"description": "The browser's auth secret (base64url, 16 bytes)."},
    )


class PushSubscriptionInSchema(Schema):
    """What ``PushSubscription.toJSON()`` gives in the browser (``expirationTime`` too)."""

    endpoint = fields.String(required=True, validate=validate.Length(min=12, max=1024))
    keys = fields.Nested(PushKeysSchema, required=True)
    expirationTime = fields.Integer(
        allow_none=True, load_only=True, validate=validate.Range(min=0, max=2**53)
    )


class PushSubscriptionSchema(Schema):
    id = fields.UUID()
    endpoint = fields.String()
    created_at = fields.DateTime()
    last_sent_at = fields.DateTime(allow_none=True)


class PushSubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(PushSubscriptionSchema))


class VapidKeySchema(Schema):
    public_key = fields.String(
        metadata={"description": "`applicationServerKey` for `pushManager.subscribe` (base64url)."}
    )


@blp.route("/push/vapid-public-key")
class VapidPublicKey(MethodView):
    @contract(web_push.PushNotConfigured)
    @blp.response(200, VapidKeySchema)
    def get(self):
        """The server's VAPID public key, for the browser's push subscription."""
        return {"public_key": web_push.vapid_public_key(current_app.config)}


@blp.route("/me/push-subscriptions")
class PushSubscriptions(MethodView):
    decorators = [login_required]

    @blp.response(200, PushSubscriptionListSchema)
    def get(self):
        """Your browsers' push subscriptions."""
        return {"items": web_push.list_for(require_user())}

    @contract(
        web_push.PushEndpointNotAllowed,
        web_push.InvalidPushSubscription,
        web_push.TooManyPushSubscriptions,
    )
    @blp.arguments(PushSubscriptionInSchema)
    @blp.response(201, PushSubscriptionSchema)
    def post(self, body):
        """Add this browser's push subscription (the endpoint must be an https URL of a known
        push service). Your first one turns push on for order updates and back-in-stock."""
        subscription, _ = web_push.subscribe(
            require_user(),
            body["endpoint"],
            body["keys"]["p256dh"],
            body["keys"]["auth"],
            current_app.config,
        )
        return subscription


@blp.route("/me/push-subscriptions/<uuid:subscription_id>")
class PushSubscriptionById(MethodView):
    decorators = [login_required]

    @contract(web_push.PushSubscriptionNotFound)
    @blp.response(204)
    def delete(self, subscription_id: uuid.UUID):
        """Remove one of your push subscriptions."""
        web_push.unsubscribe(require_user(), subscription_id)
