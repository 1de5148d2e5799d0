"""``flask pii rotate|new-key``: the keys of the PII encrypted at rest."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from models.encryption import KEY_ID, PiiKeyError, keyring, new_key_entry

pii_cli = AppGroup("pii", help="Personal data encrypted at rest (PII_KEYS).")


@pii_cli.command("rotate")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 50_000),
    help="Rows re-sealed per transaction (default: PII_ROTATE_BATCH_SIZE).",
)
def rotate(batch_size: int | None) -> None:
    """Re-seal every stored PII value under the newest key of PII_KEYS (the first one). Run it
    after putting a new key first; drop an old key from PII_KEYS only once this finished."""
    from services.privacy import rotation

    size = batch_size or current_app.config["PII_ROTATE_BATCH_SIZE"]
    click.echo(f"re-sealing PII under key {keyring().newest_id!r}, {size} rows per batch")

    def progress(table: str, done: int, total: int) -> None:
        click.echo(f"  {table}: {done}/{total}")

    try:
        results = rotation.rotate(size, progress)
    except PiiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    for result in results:
        click.echo(f"{result.table}: {result.rows} rows re-sealed")
    click.echo(f"done: {sum(r.rows for r in results)} rows re-sealed")


@pii_cli.command("new-key")
@click.argument("key_id")
def new_key(key_id: str) -> None:
    """Print a new PII_KEYS entry (KEY_ID:base64 key) to put first in PII_KEYS."""
    if not KEY_ID.fullmatch(key_id):
        raise click.BadParameter("1-32 of A-Z a-z 0-9 _ -", param_hint="KEY_ID")
    click.echo(new_key_entry(key_id))
