"""The SMS channel: phone numbers validated with ``phonenumbers``, verified by a code, and
messages sent through Amazon SNS (boto3; ``AWS_ENDPOINT_URL`` points it at moto in tests)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import boto3
import botocore.exceptions
import phonenumbers

from models import User, UserPhone, db
from services.errors import Conflict, InvalidInput

CODE_TTL = timedelta(minutes=10)
# SNS unreachable or throttling: the channel task retries.
TRANSIENT = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
)


class InvalidPhone(InvalidInput):
    """Not a valid phone number."""

    error = "invalid_phone"


class InvalidPhoneCode(Conflict):
    """The code is wrong or expired."""

    error = "invalid_phone_code"


def normalise(raw: str, default_region: str = "US") -> str:
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _hash(secret: str, user: User, code: str) -> str:
    return hmac.new(secret.encode(), f"{user.id}:{code}".encode(), hashlib.sha256).hexdigest()


def _client(config: Mapping):
    return boto3.client(
        "sns", region_name=config["AWS_REGION"], endpoint_url=config.get("AWS_ENDPOINT_URL")
    )


def send(config: Mapping, phone: str, message: str) -> str:
    """Publish one SMS; returns SNS's message id."""
    answer = _client(config).publish(
        PhoneNumber=phone,
        Message=message,
        MessageAttributes={
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        },
    )
    return answer["MessageId"]


def start_verification(user: User, raw_phone: str, config: Mapping) -> UserPhone:
    """Store the (unverified) number and text it a 6-digit code. Commits, then sends."""
    phone = normalise(raw_phone, config.get("SHIPPING_DOMESTIC_COUNTRY", "US"))
    code = f"{secrets.randbelow(10**6):06d}"
    stored = db.session.get(UserPhone, user.id, with_for_update=True)
    if stored is None:
        stored = UserPhone(user_id=user.id, phone_e164=phone)
        db.session.add(stored)
    stored.phone_e164, stored.verified_at = phone, None
    stored.code_hash = _hash(config["SMS_CODE_KEY"], user, code)
    stored.code_expires_at = datetime.now(UTC) + CODE_TTL
    db.session.commit()
    send(config, phone, f"Your Bookstore verification code is {code}")
    return stored


def verify(user: User, code: str, config: Mapping) -> UserPhone:
    stored = db.session.get(UserPhone, user.id, with_for_update=True)
    if (
        stored is None
        or stored.code_hash is None
        or stored.code_expires_at < datetime.now(UTC)
        or not hmac.compare_digest(stored.code_hash, _hash(config["SMS_CODE_KEY"], user, code))
    ):
        db.session.rollback()
        raise InvalidPhoneCode()
    stored.verified_at, stored.code_hash, stored.code_expires_at = datetime.now(UTC), None, None
    db.session.commit()
    return stored


def verified_phone(user_id) -> str | None:
    stored = db.session.get(UserPhone, user_id)
    return stored.phone_e164 if stored is not None and stored.verified_at else None
