"""PII encrypted at rest: the raw columns in PostgreSQL hold no plaintext, `flask pii rotate`
re-seals every row under the newest key, and a wrong or missing key is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from config import secrets, settings
from config.settings import ROOT
from models import Address, Order, UserPhone, db, encryption
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import ADDRESS, add_to_cart, check_out

HOME = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "Flat Nine",
    "city": "Marylebone",
    "region": "Greater London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
}
PHONE = "+14155552671"


@pytest.fixture
def restore_keyring():
    bound = encryption.keyring()
    yield
    encryption.bind_keyring(bound)


def _shopper_with_pii(client, app):
    """A shopper with a saved address, a phone number and one placed order."""
    user = make_user()
    headers = auth_headers(app, user)
    address = client.post("/api/v1/me/addresses", headers=headers, json=HOME)
    assert address.status_code == 201, address.json
    db.session.add(UserPhone(user_id=user.id, phone_e164=PHONE))
    db.session.commit()
    add_to_cart(client, headers, make_book(price_cents=1500))
    placed = check_out(client, headers)
    assert placed.status_code == 202, placed.json
    return user, headers, address.json["id"], placed.json["id"]


def _raw_rows(user_id) -> list[str]:
    """Every PII row of this user as PostgreSQL stores it (the whole row, as text)."""
    queries = (
        "SELECT a::text FROM addresses a WHERE user_id = :u",
        "SELECT p::text FROM user_phones p WHERE user_id = :u",
        "SELECT o::text FROM orders o WHERE user_id = :u",
    )
    return [row for q in queries for row in db.session.scalars(text(q), {"u": user_id})]


def test_the_raw_columns_hold_no_plaintext_and_the_api_reads_it_back(client, app):
    user, headers, address_id, order_id = _shopper_with_pii(client, app)

    rows = _raw_rows(user.id)
    assert len(rows) == 3
    secrets_in_clear = [*(v for k, v in HOME.items() if k != "country"), PHONE, ADDRESS["line1"]]
    for row in rows:
        for value in secrets_in_clear:
            assert value not in row, (value, row)
    sealed = db.session.execute(
        text("SELECT name, line1, line2, city, region, postal_code FROM addresses WHERE id = :a"),
        {"a": address_id},
    ).one()
    assert all(value.startswith("pii1:test1:") for value in sealed)
    raw_order = db.session.scalar(
        text("SELECT shipping_address FROM orders WHERE id = :o"), {"o": order_id}
    )
    assert raw_order.startswith("pii1:test1:")
    # Two equal values seal differently (a fresh nonce each time).
    assert len({sealed.name, encryption.keyring().encrypt(HOME["name"], "addresses.name")}) == 2

    listed = client.get("/api/v1/me/addresses", headers=headers).json["items"]
    assert {k: listed[0][k] for k in HOME if k != "country"} == {
        k: v for k, v in HOME.items() if k != "country"
    }
    order = client.get(f"/api/v1/orders/{order_id}", headers=headers).json
    assert order["shipping_address"]["line1"] == ADDRESS["line1"]
    db.session.expire_all()
    assert db.session.get(UserPhone, user.id).phone_e164 == PHONE


def test_a_value_moved_to_another_column_does_not_open(client, app):
    _, _, address_id, _ = _shopper_with_pii(client, app)
    db.session.execute(text("UPDATE addresses SET city = name WHERE id = :a"), {"a": address_id})
    db.session.expire_all()
    with pytest.raises(encryption.PiiKeyError, match=r"addresses\.city: the value does not open"):
        db.session.get(Address, address_id)


def test_rotate_reseals_every_row_under_the_newest_key(client, app, restore_keyring):
    # given PII rows of two shoppers sealed with the test key
    shoppers = [_shopper_with_pii(client, app) for _ in range(2)]
    old = os.environ["PII_KEYS"]
    new = encryption.new_key_entry("rotated2")
    encryption.bind_keyring(encryption.Keyring.parse(f"{new},{old}"))
    stale = db.session.scalar(
        text("SELECT count(*) FROM addresses WHERE line1 NOT LIKE 'pii1:rotated2:%'")
    )
    assert stale >= 2

    # when the rotation runs in batches of one row
    result = app.test_cli_runner().invoke(args=["pii", "rotate", "--batch-size", "1"])

    # then it reports its progress and every row of every table is under the new key
    assert result.exit_code == 0, result.output
    assert "re-sealing PII under key 'rotated2'" in result.output
    assert f"  addresses: 1/{stale}" in result.output
    assert f"  addresses: {stale}/{stale}" in result.output
    for table, column in (
        ("addresses", "name"),
        ("addresses", "line2"),
        ("addresses", "postal_code"),
        ("user_phones", "phone_e164"),
        ("orders", "shipping_address"),
    ):
        left = db.session.scalar(
            text(f"SELECT count(*) FROM {table} WHERE {column} NOT LIKE 'pii1:rotated2:%'")
        )
        assert left == 0, (table, column)
    # and everything reads back with the new key alone
    encryption.bind_keyring(encryption.Keyring.parse(new))
    db.session.expire_all()
    for user, _, address_id, order_id in shoppers:
        address = db.session.get(Address, address_id)
        assert (address.name, address.line2, address.region) == (
            HOME["name"],
            HOME["line2"],
            HOME["region"],
        )
        assert db.session.get(UserPhone, user.id).phone_e164 == PHONE
        assert db.session.get(Order, order_id).shipping_address["line1"] == ADDRESS["line1"]
    # and a second run has nothing left to do
    again = app.test_cli_runner().invoke(args=["pii", "rotate"])
    assert again.exit_code == 0 and "done: 0 rows re-sealed" in again.output, again.output


def test_a_missing_or_wrong_key_is_a_clear_error(client, app, restore_keyring):
    _, _, address_id, _ = _shopper_with_pii(client, app)

    encryption.bind_keyring(encryption.Keyring.parse(encryption.new_key_entry("other")))
    db.session.expire_all()
    with pytest.raises(encryption.PiiKeyError, match="sealed with PII key 'test1', which PII_KEYS"):
        db.session.get(Address, address_id)
    rotate = app.test_cli_runner().invoke(args=["pii", "rotate"])
    assert rotate.exit_code != 0 and "which PII_KEYS does not hold" in rotate.output

    encryption.bind_keyring(encryption.Keyring.parse(encryption.new_key_entry("test1")))
    db.session.expire_all()
    with pytest.raises(encryption.PiiKeyError, match="does not open with PII key 'test1'"):
        db.session.get(Address, address_id)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no key"),
        ("k1", "each entry is <key id>:<base64 key>"),
        ("k1:bm90IGEga2V5", "must be 16, 24 or 32 bytes"),
        ("k 1:" + "A" * 43, "each entry is"),
        ("k1:%%%%", "is not base64"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(spec, message):
    with pytest.raises(encryption.PiiKeyError, match=message) as raised:
        encryption.parse_keys(spec)
    assert "bm90IGEga2V5" not in str(raised.value)


def test_real_services_without_pii_keys_refuse_to_start_in_one_line(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in secrets.SERVICE_URL_SETTINGS}
    clean.pop("PII_KEYS", None)
    clean.pop("PII_KEYS_FILE", None)
    clean.update(
        DATABASE_URL="postgresql+psycopg://db.internal/shop", BOOKSTORE_VAR_DIR=str(tmp_path)
    )
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1 and "PII_KEYS is not set but DATABASE_URL is" in lines[0], result.stderr
    assert not (tmp_path / secrets.PII_KEYS_FILE_NAME).exists()


def test_the_embedded_default_generates_its_pii_key_once_with_mode_0600(tmp_path):
    first = secrets.resolve_pii_keys({}, tmp_path)
    second = secrets.resolve_pii_keys({}, tmp_path)
    assert first == second and encryption.Keyring.parse(first).newest_id == "local1"
    assert (tmp_path / secrets.PII_KEYS_FILE_NAME).stat().st_mode & 0o777 == 0o600


def test_migration_0013_seals_existing_plaintext_and_its_downgrade_opens_it(app):
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    from models.schema import alembic_config
    from tests.conftest import TEST_DATABASE_URL
    from tests.support.database import recreate_database

    url = make_url(TEST_DATABASE_URL)
    url = url.set(database=f"{url.database}_pii_migration").render_as_string(hide_password=False)
    recreate_database(url)
    config = alembic_config(url)
    command.downgrade(config, "0009")
    engine = create_engine(url)
    try:
        # given plaintext rows written before the revision
        with engine.begin() as conn:
            user = conn.scalar(
                text(
                    "INSERT INTO users (id, email, password_hash) "
                    "VALUES (gen_random_uuid(), 'old@example.com', 'x') RETURNING id"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO addresses (id, user_id, name, line1, city, postal_code, country) "
                    "VALUES (gen_random_uuid(), :u, 'Ada Lovelace', '12 Old Street', 'London', "
                    "'EC1V 9HL', 'GB')"
                ),
                {"u": user},
            )
            conn.execute(
                text("INSERT INTO user_phones (user_id, phone_e164) VALUES (:u, :p)"),
                {"u": user, "p": PHONE},
            )
            conn.execute(
                text(
                    "INSERT INTO orders (id, user_id, currency, subtotal_cents, total_cents, "
                    "shipping_address, shipping_method, payment_method, payment_deadline) "
                    "VALUES (gen_random_uuid(), :u, 'USD', 100, 100, "
                    """'{"name": "Ada Lovelace", "line1": "12 Old Street"}', 'standard', """
                    "'pm_card_visa', now())"
                ),
                {"u": user},
            )
        # when the revision runs
        command.upgrade(config, "0013")
        # then nothing is left in clear, and the models read it back
        with engine.connect() as conn:
            raw = [
                conn.scalar(text(f"SELECT t::text FROM {table} t"))
                for table in ("addresses", "user_phones", "orders")
            ]
        assert all("Ada" not in row and "Old Street" not in row for row in raw), raw
        assert all(PHONE not in row for row in raw), raw
        with Session(engine) as session:
            address = session.scalars(select(Address)).one()
            assert (address.name, address.line1, address.line2) == (
                "Ada Lovelace",
                "12 Old Street",
                None,
            )
            assert session.scalars(select(UserPhone)).one().phone_e164 == PHONE
            order = session.scalars(select(Order)).one()
            assert order.shipping_address == {"name": "Ada Lovelace", "line1": "12 Old Street"}
        # and the downgrade brings the plaintext back
        command.downgrade(config, "0009")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT line1 FROM addresses")) == "12 Old Street"
            assert conn.scalar(text("SELECT shipping_address->>'name' FROM orders")) == (
                "Ada Lovelace"
            )
    finally:
        engine.dispose()


def test_make_run_hands_its_children_the_generated_keys_as_a_file(tmp_path, monkeypatch):
    # given the launcher's generated keys, and the embedded URLs it exports to children
    generated = secrets.resolve_pii_keys({}, tmp_path)
    monkeypatch.delenv("PII_KEYS", raising=False)
    monkeypatch.setenv("PII_KEYS_FILE", str(tmp_path / secrets.PII_KEYS_FILE_NAME))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@/postgres?host=/x")
    # then a child's settings use them
    assert settings.load()["PII_KEYS"] == generated
