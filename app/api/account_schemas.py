"""Request and response bodies of the auth and me endpoints. No schema dumps a password."""

from __future__ import annotations

from marshmallow import fields, pre_load, validate

from app.api.base import Schema
from app.api.fields import Int
from services.accounts.passwords import MAX_LENGTH

Password = fields.String(
    required=True, load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH)
)


def _unread(user) -> int:
    from services.notifications.channels import unread_count

    return unread_count(user.id)


class UserSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.Email(dump_only=True)
    name = fields.String()
    role = fields.String(dump_only=True, metadata={"enum": ["customer", "staff", "admin"]})
    email_verified = fields.Function(
        lambda user: user.email_verified_at is not None, metadata={"type": "boolean"}
    )
    email_verified_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When the address was verified; null until it is."},
    )
    created_at = fields.DateTime(dump_only=True)
    unread_notifications = fields.Function(_unread, dump_only=True)


class ProfileUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(max=200))


class RegisterSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = Password
    name = fields.String(load_default="", validate=validate.Length(max=200))

    @pre_load
    def strip_email(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=320))
    password = Password


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class RefreshTokenSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class LinkTokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class PasswordResetRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=320))


class PasswordResetConfirmSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))
    new_password = Password


class AddressSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=500))
    line2 = fields.String(allow_none=True, validate=validate.Length(max=500))
    city = fields.String(required=True, validate=validate.Length(min=1, max=128))
    region = fields.String(allow_none=True, validate=validate.Length(max=128))
    postal_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    country = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z]{2}$", error="Use the ISO 3166-1 alpha-2 country code, e.g. US or DE."
        ),
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class AddressPatchSchema(AddressSchema):
    """Any subset of the address fields (used with partial=True)."""


class AddressListSchema(Schema):
    items = fields.List(fields.Nested(AddressSchema))
    next_cursor = fields.String(allow_none=True)


class NotificationPageArgsSchema(Schema):
    limit = Int(minimum=1, maximum=100, load_default=20)
    cursor = fields.String(validate=validate.Length(max=200))


class NotificationSchema(Schema):
    id = fields.UUID()
    template = fields.String()
    subject = fields.String()
    to_email = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.String(allow_none=True)


class ChannelPreferencesSchema(Schema):
    email = fields.Boolean()
    sms = fields.Boolean()
    web_push = fields.Boolean()
    in_app = fields.Boolean()


class QuietHoursSchema(Schema):
    """SMS and push wait while the user's clock is between ``start`` and ``end`` (the window
    may run over midnight); e-mail and in-app, and urgent payment notices, never wait."""

    start = fields.String(
        required=True, validate=validate.Length(equal=5), metadata={"example": "22:00"}
    )
    end = fields.String(
        required=True, validate=validate.Length(equal=5), metadata={"example": "07:00"}
    )
    tz = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"example": "Europe/Paris", "description": "An IANA time zone name."},
    )


class NotificationPreferencesSchema(Schema):
    """Per category and channel; a PUT may send only what changes (``quiet_hours: null``
    clears them)."""

    order_updates = fields.Nested(ChannelPreferencesSchema)
    marketing = fields.Nested(ChannelPreferencesSchema)
    back_in_stock = fields.Nested(ChannelPreferencesSchema)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)


class InAppNotificationSchema(Schema):
    id = fields.UUID()
    event = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class InAppNotificationListSchema(Schema):
    items = fields.List(fields.Nested(InAppNotificationSchema))
    next_cursor = fields.String(allow_none=True)
    unread = fields.Integer()


class NotifyMeSchema(Schema):
    book_id = fields.UUID()
    in_stock = fields.Boolean()
    subscribed = fields.Boolean()


class AcceptedSchema(Schema):
    status = fields.String(metadata={"enum": ["accepted"]})
