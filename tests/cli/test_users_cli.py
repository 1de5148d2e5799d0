"""``flask users create-staff``."""

from __future__ import annotations

from sqlalchemy import select

from models import User, db
from services.accounts.passwords import verify_password


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", "create-staff", *args], input=input)


def test_create_staff_with_a_password_option(app, session):
    result = run(app, "Clerk@Example.com", "--password", "Ledger-Bramble-Kettle-3")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "clerk@example.com"))
    assert user.role == "staff"
    assert verify_password(user.password_hash, "Ledger-Bramble-Kettle-3")
    assert "Ledger" not in result.output


def test_create_admin_prompts_for_the_password(app, session):
    result = run(app, "boss@example.com", "--admin", input="Copper-Willow-Anthem-8\n" * 2)
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user.role == "admin"


def test_create_staff_promotes_an_existing_customer(app, session):
    from tests.factories import make_user

    customer = make_user()
    result = run(app, customer.email, "--password", "Ledger-Bramble-Kettle-3")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, customer.id).role == "staff"


def test_a_weak_password_is_refused(app, session):
    result = run(app, "weak@example.com", "--password", "password123")
    assert result.exit_code != 0
    assert "too common" in result.output
    assert db.session.scalar(select(User).where(User.email == "weak@example.com")) is None
