"""`make run`'s embedded default turns the carrier simulation on and makes a local VAPID key;
anything configured wins."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from run import embedded_defaults


def test_the_embedded_default_simulates_parcels_and_has_a_push_key(tmp_path):
    environ: dict[str, str] = {}

    embedded_defaults(environ, tmp_path)
    key = environ["WEBPUSH_VAPID_PRIVATE_KEY_FILE"]
    embedded_defaults(again := {}, tmp_path)

    assert environ["CARRIER_SIMULATION"] == "on"
    assert Path(key).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert again["WEBPUSH_VAPID_PRIVATE_KEY_FILE"] == key  # made once, then reused


def test_what_is_configured_wins(tmp_path):
    off = {"CARRIER_SIMULATION": "off", "WEBPUSH_VAPID_PRIVATE_KEY": "configured"}
    services = {"DATABASE_URL": "postgresql+psycopg://db/bookstore"}

    embedded_defaults(off, tmp_path)
    embedded_defaults(services, tmp_path)

    assert off == {"CARRIER_SIMULATION": "off", "WEBPUSH_VAPID_PRIVATE_KEY": "configured"}
    assert services == {"DATABASE_URL": "postgresql+psycopg://db/bookstore"}
    assert list(tmp_path.iterdir()) == []
