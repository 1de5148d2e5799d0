"""Schemathesis conformance of the app to its own OpenAPI document, run in-process (WSGI):
each operation gets a few generated requests and every answer is checked for status code,
content type, response schema and headers against what the document states."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.fuzzing import operations_in_order

CHECKS = {
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
    "response_headers_conformance": response_headers_conformance,
}


@dataclass
class Report:
    operations: int = 0
    cases: int = 0
    failures: Counter = field(default_factory=Counter)  # check name -> failing cases
    examples: dict = field(default_factory=dict)  # (check, operation) -> first message

    def summary(self) -> str:
        by_check = ", ".join(f"{name}={count}" for name, count in sorted(self.failures.items()))
        return (
            f"{self.operations} operations, {self.cases} cases, "
            f"{sum(self.failures.values())} failures ({by_check or 'none'})"
        )


def run(app, headers: dict | None = None, max_examples: int = 3, skip=()) -> Report:
    """Every operation of the app's document, ``max_examples`` generated cases each."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    report = Report()
    for operation in operations_in_order(schema):
        label = f"{operation.method.upper()} {operation.path}"
        if label in skip:
            continue
        report.operations += 1
        _exercise(operation, label, report, headers, max_examples)
    return report


def _exercise(operation, label: str, report: Report, headers, max_examples: int) -> None:
    @hypothesis.given(operation.as_strategy())
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case):
        report.cases += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised instead of answering: a 500 in production
            report.failures["server_error"] += 1
            report.examples.setdefault(("server_error", label), repr(exc)[:400])
            return
        for name, check in CHECKS.items():
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except (AssertionError, BaseExceptionGroup) as exc:  # a failure was found
                report.failures[name] += 1
                report.examples.setdefault(
                    (name, label), f"{response.status_code}: {str(exc)[:400]}"
                )

    exercise()
