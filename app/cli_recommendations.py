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
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the evaluation as a Markdown report to this file.",
)
def evaluate_command(dataset_dir: str | None, as_json: bool, report_path: Path | None) -> None:
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
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(evaluation_report(result, path), encoding="utf-8")
        click.echo(f"report written to {report_path}", err=True)
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


def evaluation_report(result: dict, ratings_path: Path) -> str:
    """The evaluation as Markdown: what was held out, the model's settings, the table."""
    from datetime import UTC, datetime

    settings = result["settings"]
    model, popularity = result["model"], result["popularity"]
    beats = model["recall_at_10"] > popularity["recall_at_10"]
    return "\n".join(
        [
            "# Recommendations: offline evaluation",
            "",
            f"- ratings: `{ratings_path.name}` ({result['users']:,} readers evaluated, "
            f"{result['held_out']:,} held-out 4-5 star ratings; fixed seed)",
            f"- model: item-item, rating weights 1..5 = {settings['weights']}, shrinkage "
            f"{settings['shrinkage']:g}, min co-raters {settings['min_co_raters']}, "
            f"{settings['neighbours']} neighbours",
            f"- written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            "| | recall@10 | hit rate@10 |",
            "|---|---|---|",
            f"| item-item | {model['recall_at_10']:.4f} | {model['hit_rate_at_10']:.4f} |",
            f"| popularity | {popularity['recall_at_10']:.4f} | "
            f"{popularity['hit_rate_at_10']:.4f} |",
            "",
            "The model beats popularity." if beats else "**The model does NOT beat popularity.**",
            "",
        ]
    )
