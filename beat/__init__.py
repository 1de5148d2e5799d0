"""Celery beat: the schedule of periodic jobs, kept as data."""
