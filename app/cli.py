"""``flask`` commands: database migrations, the catalog and staff accounts."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations up to REVISION (default: head)."""
    from models.schema import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create-staff")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make an admin rather than staff.")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
def create_staff(email: str, admin: bool, name: str, password: str) -> None:
    """Create a staff (or --admin) account, or promote an existing one and set its password."""
    from models import Role
    from services.accounts import create_user
    from services.errors import DomainError

    role = Role.ADMIN if admin else Role.STAFF
    try:
        user = create_user(email, password, name, role, current_app.config["PASSWORD_MIN_LENGTH"])
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is now {user.role} (id {user.id})")


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
