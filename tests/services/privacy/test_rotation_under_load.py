"""`flask pii rotate` while shoppers change their addresses: no change is lost and no row is
left under the old key (each batch locks its rows and re-reads them before re-sealing)."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from models import Address, User, db, encryption
from services.privacy import rotation
from tests.factories import auth_headers

SHOPPERS = 60
WRITERS = 6
EDITS = 1


@pytest.fixture
def restore_keyring():
    bound = encryption.keyring()
    yield
    encryption.bind_keyring(bound)


def test_rotation_while_addresses_change_loses_nothing(app, committed, restore_keyring):
    # given shoppers with one address each, sealed with the old key
    users = [User(email=f"rotate-{n}@example.com", password_hash="-") for n in range(SHOPPERS)]
    db.session.add_all(users)
    db.session.flush()
    addresses = [
        Address(
            user_id=user.id,
            name=f"Shopper {n}",
            line1=f"{n} Old Road",
            city="Leeds",
            postal_code="LS1 1AA",
            country="GB",
        )
        for n, user in enumerate(users)
    ]
    db.session.add_all(addresses)
    db.session.commit()
    book = [(auth_headers(app, u), str(a.id)) for u, a in zip(users, addresses, strict=True)]
    client = app.test_client()
    db.session.remove()
    # and the app restarted with a new key first
    new = encryption.new_key_entry("fresh")
    encryption.bind_keyring(encryption.Keyring.parse(f"{new},{os.environ['PII_KEYS']}"))

    # when the rotation runs (one row per batch) while every address is edited concurrently
    start = threading.Barrier(WRITERS + 1)
    failures: list[str] = []
    results = []

    def rotate():
        start.wait()
        try:
            results.extend(rotation.rotate(batch_size=5))
        except Exception as exc:  # reported below
            failures.append(repr(exc))
        finally:
            db.session.remove()

    def edit(share):
        writer = app.test_client()
        start.wait()
        for edit_number in range(EDITS):
            for headers, address_id in share:
                answer = writer.patch(
                    f"/api/v1/me/addresses/{address_id}",
                    headers=headers,
                    json={"line1": f"{address_id} edit {edit_number}"},
                )
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.get_json()}")

    threads = [threading.Thread(target=rotate)] + [
        threading.Thread(target=edit, args=(book[i::WRITERS],)) for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then nothing failed, no row is left under the old key, and every last edit is there
    assert not failures, failures[:5]
    with db.session.begin():
        stale = db.session.scalar(
            text(
                "SELECT count(*) FROM addresses WHERE name NOT LIKE 'pii1:fresh:%' "
                "OR line1 NOT LIKE 'pii1:fresh:%' OR city NOT LIKE 'pii1:fresh:%'"
            )
        )
    assert stale == 0
    encryption.bind_keyring(encryption.Keyring.parse(new))  # the old key is no longer needed
    for headers, address_id in book:
        [address] = client.get("/api/v1/me/addresses", headers=headers).get_json()["items"]
        assert address["line1"] == f"{address_id} edit {EDITS - 1}"
    assert sum(r.rows for r in results if r.table == "addresses") <= SHOPPERS
