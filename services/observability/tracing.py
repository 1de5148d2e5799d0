"""OpenTelemetry traces, off by default: on with OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over
HTTP) or OTEL_TRACES_EXPORTER=console|otlp. One trace runs from ``POST /checkout`` through
every step task (Celery headers carry the context; the outbox stores it, so relayed work
joins its trace), with the database spans of each."""

from __future__ import annotations

import logging
import os

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

log = logging.getLogger(__name__)

_instrumented: set[str] = set()


def exporter_name(environ=os.environ) -> str | None:
    """``otlp``, ``console`` or None (tracing off)."""
    name = (environ.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if name in ("otlp", "console"):
        return name
    if not name and environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return None


def enabled() -> bool:
    return exporter_name() is not None or _has_sdk_provider()


def _has_sdk_provider() -> bool:
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


def configure_provider(service_name: str) -> None:
    """Install the SDK tracer provider (once per process; an existing one is kept, so a
    test can install its own with an in-memory exporter)."""
    if _has_sdk_provider():
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    service_name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter_name() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def instrument_celery() -> None:
    if "celery" not in _instrumented:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        CeleryInstrumentor().instrument()
        _instrumented.add("celery")


def instrument_engines(engines) -> None:
    """A span per statement on each engine (SQLAlchemy's cursor events). Ours rather than
    opentelemetry-instrumentation-sqlalchemy, whose declared range stops below 2.1."""
    from sqlalchemy import event

    for engine in engines:
        key = f"engine:{id(engine)}"
        if key in _instrumented:
            continue
        event.listen(engine, "before_cursor_execute", _start_statement)
        event.listen(engine, "after_cursor_execute", _end_statement)
        event.listen(engine, "handle_error", _failed_statement)
        _engines[key] = engine
        _instrumented.add(key)


_engines: dict = {}


def _start_statement(conn, cursor, statement, parameters, context, executemany):
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    span = trace.get_tracer("bookstore.db").start_span(
        f"{verb} {conn.engine.url.database}",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": statement[:2000]},
    )
    if context is not None:
        context._bookstore_span = span


def _end_statement(conn, cursor, statement, parameters, context, executemany):
    span = getattr(context, "_bookstore_span", None)
    if span is not None:
        span.end()


def _failed_statement(exception_context):
    span = getattr(exception_context.execution_context, "_bookstore_span", None)
    if span is not None:
        span.set_status(
            trace.Status(trace.StatusCode.ERROR, str(exception_context.original_exception))
        )
        span.end()


def carrier() -> dict:
    """The current trace context as message headers (``traceparent``), for the outbox."""
    headers: dict = {}
    if enabled():
        propagate.inject(headers)
    return headers


def attach(headers: dict | None):
    """Make the stored context current (returns a token for ``detach``), or None."""
    if not headers or "traceparent" not in headers:
        return None
    return otel_context.attach(propagate.extract(headers))


def detach(token) -> None:
    if token is not None:
        otel_context.detach(token)


def instrument_app(app, engines) -> None:
    """Trace the Flask app, its database engines and what it publishes (when enabled)."""
    if not enabled():
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    configure_provider("bookstore-api")
    FlaskInstrumentor().instrument_app(app, excluded_urls="metrics,healthz,readyz")
    instrument_celery()
    instrument_engines(engines)


def uninstrument() -> None:
    """Undo ``instrument_celery`` / ``instrument_engines`` (tests, shutdown)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from sqlalchemy import event

    if "celery" in _instrumented:
        CeleryInstrumentor().uninstrument()
    for engine in _engines.values():
        event.remove(engine, "before_cursor_execute", _start_statement)
        event.remove(engine, "after_cursor_execute", _end_statement)
        event.remove(engine, "handle_error", _failed_statement)
    _engines.clear()
    _instrumented.clear()
