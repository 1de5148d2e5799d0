"""``flask recommendations build|evaluate``: the neighbour table and its offline evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

recommendations_cli = AppGroup("recommendations", help="Recommended books.")

DATASET_OPTION = click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(file_okay=False),
    help="goodbooks folder holding ratings.csv (default: CATALOG_DATASET_DIR).",
)


class _Bars:
    """One click progress bar per phase of the build."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, label: str, total: int) -> None:
        self.finish()
        self.bar = click.progressbar(length=max(total, 1), label=f"{label:<12}", show_pos=True)
        self.bar.__enter__()

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@recommendations_cli.command("build")
@DATASET_OPTION
def build_command(dataset_dir: str | None) -> None:
    """Recompute every book's 50 nearest neighbours from ratings.csv and the shop's orders
    and reviews, then swap the new set in at once."""
    from models import db
    from services.recommendations.build import Progress, build

    bars = _Bars()
    try:
        summary = build(
            dataset_dir or current_app.config["CATALOG_DATASET_DIR"],
            progress=Progress(bars.start, bars.advance),
        )
    finally:
        bars.finish()
        db.session.remove()
    if summary.skipped:
        raise click.ClickException(f"not built: {summary.skipped}")
    click.echo(
        f"generation {summary.generation}: {summary.books:,} books with neighbours, "
        f"{summary.pairs:,} pairs from {summary.signals:,} signals by {summary.readers:,} "
        f"readers in {summary.seconds:.1f} s (peak memory {summary.peak_memory_mb:,.0f} MB)"
    )


@recommendations_cli.command("evaluate")
@DATASET_OPTION
@click.option("--json", "as_json", is_flag=True, help="End with the numbers as one JSON line.")
def evaluate_command(dataset_dir: str | None, as_json: bool) -> None:
    """Recall@10 and hit rate@10 of the model against popularity, on a fixed hold-out of
    each reader's 4-5 star ratings in ratings.csv."""
    from services.recommendations.evaluation import evaluate

    path = Path(dataset_dir or current_app.config["CATALOG_DATASET_DIR"]) / "ratings.csv"
    if not path.is_file():
        raise click.ClickException(f"no ratings file at {path}")
    result = evaluate(path)
    click.echo(f"{result['users']:,} readers, {result['held_out']:,} held-out liked ratings")
    click.echo(f"{'':<12}{'recall@10':>12}{'hit rate@10':>14}")
    for name in ("model", "popularity"):
        numbers = result[name]
        click.echo(f"{name:<12}{numbers['recall_at_10']:>12.4f}{numbers['hit_rate_at_10']:>14.4f}")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "model": result["model"],
                    "popularity": result["popularity"],
                    "users": result["users"],
                }
            )
        )
