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


def test_every_rate_limited_operation_declares_429(app):
    """Each operation Flask-Limiter guards (a decorated method, or a whole view class) states
    its 429 `rate_limited`; no application-wide or blueprint limit guards the rest."""
    from app.extensions import limiter

    manager = limiter.limit_manager
    assert not manager._application_limits and not manager._default_limits
    assert not getattr(manager, "_blueprint_limits", None)
    guarded = set(manager._decorated_limits)
    limited, found = [], set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        if view_class is None:
            continue
        module, name = view.__module__, view_class.__name__
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            keys = {f"{module}.{name}.{view.__qualname__}", f"{module}.{method.lower()}."
                    f"{name}.{method.lower()}"}  # fmt: skip
            if keys & guarded:
                found |= keys & guarded
                limited.append((method, error_ids._RULE_PART.sub(r"{\1}", rule.rule)))
    assert found == guarded, f"limits on no route: {sorted(guarded - found)}"
    declared = error_ids.documented(app)
    missing = [
        f"{m} {p}" for m, p in limited if "rate_limited" not in declared[(m, p)].get(429, ())
    ]
    assert len(limited) >= 9 and not missing, missing


def test_no_operation_has_a_blanket_default_response(app):
    """A `default` response would let any status pass schemathesis's status-code check."""
    from app.extensions import api

    with app.app_context():
        document = api.spec.to_dict()
    with_default = [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method != "parameters" and "default" in operation.get("responses", {})
    ]
    assert len(document["paths"]) > 50 and not with_default, with_default
