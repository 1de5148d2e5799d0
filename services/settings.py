"""The settings services read: one typed object, built from the config and bound once when
the app, a worker or a CLI command starts, so services never need a Flask app context."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Settings:
    secret_key: str
    # Per-purpose keys derived from the secret (config/secrets.py), newest first: the first
    # signs, all verify (the previous secret's during a rotation).
    cursor_keys: tuple[str, ...] = ()
    order_link_keys: tuple[str, ...] = ()
    default_currency: str = "USD"
    cart_ttl_seconds: int = 7 * 24 * 3600
    order_payment_timeout_seconds: int = 30 * 60
    shipping_domestic_country: str = "US"
    # method code -> (flat cents, per-item cents)
    shipping_rates: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    shipping_free_over_cents: int = 5000
    shipping_international_surcharge_cents: int = 1000
    tax_rates_bps: Mapping[str, int] = field(default_factory=dict)
    tax_default_rate_bps: int = 0
    payment_provider: str = "dummy"
    payment_dummy_slow_seconds: float = 3.0
    # Everything else, read-only, for adapters built from many keys (the e-mail backends).
    config: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            secret_key=config["SECRET_KEY"],
            cursor_keys=tuple(config["CURSOR_KEYS"]),
            order_link_keys=tuple(config["ORDER_LINK_KEYS"]),
            default_currency=config["DEFAULT_CURRENCY"],
            cart_ttl_seconds=config["CART_TTL_SECONDS"],
            order_payment_timeout_seconds=config["ORDER_PAYMENT_TIMEOUT_SECONDS"],
            shipping_domestic_country=config["SHIPPING_DOMESTIC_COUNTRY"].upper(),
            shipping_rates={
                method: (
                    config[f"SHIPPING_{method.upper()}_FLAT_CENTS"],
                    config[f"SHIPPING_{method.upper()}_PER_ITEM_CENTS"],
                )
                for method in ("standard", "express")
            },
            shipping_free_over_cents=config["SHIPPING_FREE_OVER_CENTS"],
            shipping_international_surcharge_cents=config["SHIPPING_INTERNATIONAL_SURCHARGE_CENTS"],
            tax_rates_bps={
                country.upper(): int(rate)
                for country, rate in json.loads(config["TAX_RATES_BPS"] or "{}").items()
            },
            tax_default_rate_bps=config["TAX_DEFAULT_RATE_BPS"],
            payment_provider=config["PAYMENT_PROVIDER"],
            payment_dummy_slow_seconds=config["PAYMENT_DUMMY_SLOW_SECONDS"],
            config=MappingProxyType(dict(config)),
        )


_bound: Settings | None = None


def bind(settings: Settings) -> None:
    """Make ``settings`` the ones every service reads (called by ``create_app``)."""
    global _bound
    _bound = settings


def current() -> Settings:
    if _bound is None:
        raise RuntimeError("services.settings.bind() was not called (create_app binds them)")
    return _bound
