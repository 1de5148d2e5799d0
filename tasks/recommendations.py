"""The nightly recommendations build (beat job ``build_recommendations``)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from services.ops.jobs import record_run
from services.recommendations.build import build


@shared_task(name="tasks.recommendations.build_recommendations")
def build_recommendations() -> int | None:
    """Recompute the neighbour table and swap it in (a build already running is left alone)."""
    with record_run("build_recommendations") as run:
        summary = build(current_app.config["CATALOG_DATASET_DIR"])
        run.counts.update(
            generation=summary.generation,
            books=summary.books,
            pairs=summary.pairs,
            signals=summary.signals,
            seconds=summary.seconds,
            peak_memory_mb=summary.peak_memory_mb,
            skipped=summary.skipped,
        )
    return summary.generation
