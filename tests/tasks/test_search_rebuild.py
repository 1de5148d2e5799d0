"""Full rebuilds of the search index through a real worker: staff ask for one (202, a run to
follow in GET /admin/jobs/search_rebuild); an Elasticsearch index built in the background
while PostgreSQL answers, its progress in /readyz, then the alias swapped."""

from __future__ import annotations

import pytest
from osmem_server import OsmemServer

from models import Role, db
from services.search import rebuild
from services.search.documents import write_documents
from tasks.search import rebuild_index
from tests.factories import auth_headers, make_book, make_user
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

REINDEX = "/api/v1/admin/search/reindex"


def last_run(client, headers, run_id: str) -> dict | None:
    runs = client.get("/api/v1/admin/jobs/search_rebuild", headers=headers).json["runs"]
    return next((run for run in runs if run["id"] == run_id), None)


def test_staff_rebuild_runs_in_the_background_and_reports_its_counts(app, committed, worker):
    client = app.test_client()
    staff = auth_headers(app, make_user(role=Role.STAFF))
    books = [make_book(f"Orrery Maker {n}") for n in range(5)]
    # Given no search documents yet: nothing is found
    assert client.get("/api/v1/search", query_string={"q": "orrery"}).json["total"] == 0
    # When staff ask for a rebuild: 202 with the run to follow
    asked = client.post(REINDEX, headers=staff)
    assert asked.status_code == 202, asked.json
    run_id = asked.json["run_id"]
    assert asked.json["job"] == "search_rebuild" and asked.json["task_id"]
    # then the worker runs it: done = total = the books
    run = wait_for(
        lambda: (r := last_run(client, staff, run_id)) and r["status"] == "succeeded" and r,
        timeout=30,
    )
    assert run["counts"]["done"] == run["counts"]["total"] == len(books)
    assert client.get("/api/v1/search", query_string={"q": "orrery"}).json["total"] == len(books)


def test_a_second_rebuild_is_refused_while_one_runs_and_customers_may_not(app, committed):
    client = app.test_client()
    under_way = rebuild.request("postgres")
    staff = auth_headers(app, make_user(role=Role.STAFF))
    refused = client.post(REINDEX, headers=staff)
    assert refused.status_code == 409
    assert refused.json["error"] == "search_rebuild_running"
    assert refused.json["errors"]["run_id"] == str(under_way)
    shown = client.get("/api/v1/admin/search", headers=staff).json["rebuild"]
    assert shown == {"run_id": str(under_way), "done": 0, "total": None}
    customer = auth_headers(app, make_user())
    assert client.post(REINDEX, headers=customer).status_code == 403
    assert client.post(REINDEX).status_code == 401
    # and the document states each of these answers
    declared = client.get("/openapi.json").json["paths"][REINDEX]["post"]["responses"]
    assert {"202", "401", "403", "409"} <= declared.keys()
    assert "`search_rebuild_running`" in declared["409"]["description"]


@pytest.fixture
def osmem():
    server = OsmemServer.start(japanese=False)
    yield server.url
    server.close()


def test_a_missing_index_is_built_in_the_background_while_postgresql_answers(
    app, committed, osmem, monkeypatch, tmp_path
):
    # Given 150 indexed books and an Elasticsearch without an index (osmem takes seconds)
    books = [make_book(f"Astrolabe Chronicle {n:03d}") for n in range(150)]
    write_documents(db.session, [book.id for book in books])
    db.session.commit()
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", osmem)
    client = app.test_client()
    ready = client.get("/readyz").json["checks"]["search"]
    assert ready["status"] == "degraded" and ready["index"] == "missing"
    assert ready["answering"] == "postgres"
    # When the rebuild runs on a worker configured for Elasticsearch
    queue = "search-rebuild-test"
    es_worker = WorkerProcess(
        app.extensions["celery"],
        name="search-rebuild",
        concurrency=1,
        queues=(queue,),
        env={"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": osmem},
        output=str(tmp_path / "worker.log"),
    )
    es_worker.start()
    seen = []
    try:
        run_id = rebuild.request("elasticsearch")
        rebuild_index.apply_async(args=(str(run_id), False), queue=queue)

        def swapped():
            search = client.get("/readyz").json["checks"]["search"]
            seen.append(search)
            found = client.get("/api/v1/search", query_string={"q": "astrolabe chronicle"})
            # searches never fail nor come back empty: PostgreSQL answers until the swap
            assert found.status_code == 200 and found.json["total"] == len(books)
            if search["status"] == "degraded":
                assert found.headers["X-Search-Backend"] == "postgres"
            return search["status"] == "up" and found.headers["X-Search-Backend"] == "elasticsearch"

        wait_for(swapped, timeout=60, interval=0.1)
    finally:
        es_worker.stop()
    # then /readyz showed the build and its progress, and now names the index ready
    building = [s for s in seen if s.get("index") == "building"]
    assert building and all(s["rebuild"]["run_id"] == str(run_id) for s in building)
    assert {s["rebuild"]["total"] for s in building} <= {None, len(books)}
    assert seen[-1]["index"] == "ready" and seen[-1]["answering"] == "elasticsearch"
    run = last_run(client, auth_headers(app, make_user(role=Role.STAFF)), str(run_id))
    assert run["status"] == "succeeded" and run["counts"]["done"] == len(books)
