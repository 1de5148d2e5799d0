"""A short, seeded schemathesis pass over the whole OpenAPI document (issue 8): a few generated
requests per operation (valid and invalid ones), as an admin (who reaches every operation),
against the app in-process; none may answer 5xx. ``make fuzz`` runs the long pass against a
live server, anonymous and as a customer."""

from __future__ import annotations

import os

import schemathesis

from models import Role
from tests.factories import auth_headers, make_book, make_user
from tests.support.fuzzing import fuzz

# Per operation and per mode (valid, invalid); FUZZ_EXAMPLES=50 for a longer in-process pass.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "3"))


def test_no_operation_answers_a_server_error(app, session):
    make_book(title="Fuzzed")
    headers = auth_headers(app, make_user(role=Role.ADMIN))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)

    figures = fuzz(schema, headers, EXAMPLES_PER_OPERATION)

    print(figures.line("in-process, admin"))
    assert figures.operations > 40 and figures.cases >= figures.operations
    assert figures.server_errors == [], "\n".join(figures.server_errors[:40])
