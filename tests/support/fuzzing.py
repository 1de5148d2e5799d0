"""One seeded schemathesis pass over every operation of an OpenAPI document, counting cases
and server errors; used by the short pass in ``make test`` and by ``make fuzz``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

# Erases the caller's account: run last, so every other operation runs with a live account.
RUN_LAST = frozenset({"DELETE /api/v1/me"})


def operations_in_order(schema) -> list:
    """Every operation of ``schema``; those of RUN_LAST at the end."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: f"{op.method.upper()} {op.path}" in RUN_LAST)


@dataclass
class FuzzFigures:
    operations: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)

    def line(self, label: str) -> str:
        classes: dict[str, int] = {}
        for status, count in self.statuses.items():
            key = f"{status // 100}xx"
            classes[key] = classes.get(key, 0) + count
        spread = ", ".join(f"{k}: {v}" for k, v in sorted(classes.items()))
        return (
            f"schemathesis {label}: {self.operations} operations, {self.cases} cases, "
            f"{len(self.server_errors)} 5xx ({spread})"
        )


def fuzz(schema, headers: dict, examples: int, call: Callable | None = None) -> FuzzFigures:
    """Valid and invalid (negative) cases for each operation, ``examples`` of each."""
    figures = FuzzFigures()
    for operation in operations_in_order(schema):
        figures.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                figures.cases += 1
                response = call(case) if call else case.call(headers=headers)
                status = response.status_code
                figures.statuses[status] = figures.statuses.get(status, 0) + 1
                if status >= 500:
                    figures.server_errors.append(f"{status} {case.as_curl_command(headers)}")

            # Unsatisfiable: no case fits this operation in this mode, so nothing was sent.
            with contextlib.suppress(Unsatisfiable):
                run()
    return figures
