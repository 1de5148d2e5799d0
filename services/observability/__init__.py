"""Operability: the log context (one correlation id across processes), log formats, metrics."""
