"""Refusing raw card data: we never take a card number (PCI scope stays at zero)."""

from __future__ import annotations

import re

from services.errors import InvalidInput

# 13 to 19 digits, optionally grouped by spaces or dashes, as a card number is written.
CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


class CardDataRefused(InvalidInput):
    """Send a Stripe PaymentMethod id (from Stripe.js), never a card number."""

    error = "card_data_refused"


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    return any(_luhn(re.sub(r"[ -]", "", found.group())) for found in CARD_NUMBER.finditer(text))


def refuse_card_numbers(value) -> None:
    """Raise CardDataRefused if any string in ``value`` (nested dicts/lists) holds a card
    number."""
    if isinstance(value, str):
        if looks_like_card_number(value):
            raise CardDataRefused()
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_card_numbers(key)
            refuse_card_numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            refuse_card_numbers(item)
