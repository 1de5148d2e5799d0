"""The address book. Every function is scoped to its owner: another user's address is NotFound."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select

from models import Address, User, db
from services.errors import InvalidInput, NotFound

FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")
MAX_ADDRESSES = 50


class AddressNotFound(NotFound):
    """No such address in your address book."""


def list_for(user: User) -> list[Address]:
    return list(
        db.session.scalars(
            select(Address)
            .where(Address.user_id == user.id)
            .order_by(Address.created_at, Address.id)
        )
    )


def get_for(user: User, address_id: uuid.UUID) -> Address:
    address = db.session.scalar(
        select(Address).where(Address.id == address_id).where(Address.user_id == user.id)
    )
    if address is None:
        raise AddressNotFound()
    return address


def create(user: User, values: Mapping) -> Address:
    if len(list_for(user)) >= MAX_ADDRESSES:
        raise InvalidInput(f"An address book holds at most {MAX_ADDRESSES} addresses.")
    address = Address(user_id=user.id, **_clean(values))
    db.session.add(address)
    db.session.commit()
    return address


def update(user: User, address_id: uuid.UUID, values: Mapping) -> Address:
    address = get_for(user, address_id)
    for field, value in _clean(values).items():
        setattr(address, field, value)
    db.session.commit()
    return address


def delete(user: User, address_id: uuid.UUID) -> None:
    db.session.delete(get_for(user, address_id))
    db.session.commit()


def _clean(values: Mapping) -> dict:
    cleaned = {field: values[field] for field in FIELDS if field in values}
    if cleaned.get("country"):
        cleaned["country"] = cleaned["country"].upper()
    return cleaned
