"""The search backend chosen by configuration: one this build cannot serve is refused at start."""

from __future__ import annotations

import pytest

from services.search.engine import UnknownSearchBackend, check_configuration


@pytest.mark.parametrize(
    ("name", "url"),
    [("solr", None), ("elasticsearch", None), ("elasticsearch", ""), ("", None)],
)
def test_a_backend_this_build_cannot_serve_is_refused(name, url):
    with pytest.raises(UnknownSearchBackend):
        check_configuration(name, url)


@pytest.mark.parametrize(
    ("name", "url"), [("postgres", None), ("elasticsearch", "http://127.0.0.1:9200")]
)
def test_the_known_backends_are_accepted(name, url):
    check_configuration(name, url)
