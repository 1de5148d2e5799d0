"""Every error response in the document names its ids, every id is one the Error schema lists,
and the watch that checks each test's error answers against the document (tests/conftest.py)
does catch an answer the document does not state."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support import error_ids
from tests.support.error_ids import ErrorIdWatch


def test_every_error_response_lists_known_ids(app):
    from app.extensions import api

    with app.app_context():
        document = api.spec.to_dict()
    known = set(
        re.findall(r"`([a-z_]+)`", document["components"]["schemas"]["Error"]["properties"]
                   ["error"]["description"])
    )  # fmt: skip
    problems = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            for status, answer in operation.get("responses", {}).items():
                if int(status) < 400:
                    continue
                listed = answer["description"].split("Error ids:")[-1]
                ids = set(re.findall(r"`([a-z_]+)`", listed))
                if not ids or not ids <= known:
                    problems.append(f"{method.upper()} {path} {status}: {sorted(ids - known)}")
    assert not problems, "\n".join(problems)
    assert len(known) > 40


@pytest.mark.error_ids_unwatched
def test_the_watch_catches_an_undocumented_error(app, client):
    url = f"/api/v1/books/{uuid.uuid4()}/recommendations"
    operation = ("GET", "/api/v1/books/{book_id}/recommendations")
    with ErrorIdWatch(app) as watch:
        assert client.get(url).get_json()["error"] == "not_found"
    assert watch.undocumented == []

    declared = error_ids.documented(app)[operation]
    without_404 = {status: ids for status, ids in declared.items() if status != 404}
    error_ids.documented(app)[operation] = without_404
    try:
        with ErrorIdWatch(app) as watch:
            client.get(url)
    finally:
        error_ids.documented(app)[operation] = declared
    assert len(watch.undocumented) == 1 and "404 `not_found`" in watch.undocumented[0]
