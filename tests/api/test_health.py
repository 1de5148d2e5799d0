"""Health probes and the error body every 4xx/5xx shares."""

from flask import Blueprint

from app.errors import ERROR_IDS


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_readyz_names_each_dependency_when_all_are_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    checks = response.json["checks"]
    assert {checks[name]["status"] for name in ("database", "broker", "redis")} == {"up"}
    # search names its real backend (PostgreSQL by default) and what it holds
    assert checks["search"]["status"] == "up"
    assert checks["search"]["backend"] == "postgres"
    assert checks["search"]["documents"] == 0


def test_readyz_is_503_and_names_the_broken_dependency(app, client):
    good = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = good
    assert response.status_code == 503
    assert response.json["checks"]["redis"]["status"] == "down"
    assert response.json["checks"]["database"]["status"] == "up"


def test_unknown_route_is_404_with_error_id(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    body = response.json
    assert body["error"] == "not_found"
    assert body["code"] == 404
    assert body["status"] == "Not Found"
    assert body["message"]


def test_wrong_method_is_405_with_error_id(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unhandled_exception_is_500_without_a_stack_trace(app):
    boom = Blueprint("boom", __name__)

    @boom.get("/boom")
    def explode():
        raise RuntimeError("secret internals /etc/passwd")

    # A private app: blueprints cannot be added to the shared one after its first request.
    from app import create_app

    other = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    other.register_blueprint(boom)
    response = other.test_client().get("/boom")
    assert response.status_code == 500
    assert response.json["error"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_error_id_is_snake_case():
    assert all(value.replace("_", "").isalpha() and value.islower() for value in ERROR_IDS.values())


def test_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_openapi_document_and_docs_are_served(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json["info"]["title"] == "Bookstore API"
    assert client.get("/docs").status_code == 200


def test_metrics_count_requests_per_endpoint(client):
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert "bookstore_http_requests_total" in body
    assert 'endpoint="health.healthz"' in body
