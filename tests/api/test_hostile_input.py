"""Hostile input (issue 8): each defect found by the fuzzer and by hand, as a table of attacks
and the answer each must get. Every test here was red before its fix."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import yaml
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from app import bind_services, create_app
from config import secrets, settings
from models import Book, Notification, Role, db
from services.accounts.tokens import issue_access_token
from services.errors import InvalidCursor
from services.pagination import CursorCodec, SortKey, SortOrder, uuid_key
from tests.conftest import truncate_all
from tests.factories import auth_headers, make_book, make_genre, make_user

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


# -- 1. No public default secret ------------------------------------------------------------


def test_docker_compose_ships_no_usable_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for setting in ("SECRET_KEY", "PII_KEYS"):
            value = (service.get("environment") or {}).get(setting)
            assert value is None or value.startswith(f"${{{setting}:?"), (name, value)


def test_the_embedded_default_generates_a_private_secret_once(tmp_path, monkeypatch):
    for name in (*secrets.SERVICE_URL_SETTINGS, "SECRET_KEY", "SECRET_KEY_FILE", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOOKSTORE_VAR_DIR", str(tmp_path))

    first = settings.load()["SECRET_KEY"]
    second = settings.load()["SECRET_KEY"]

    path = tmp_path / secrets.SECRET_FILE_NAME
    assert first == second == path.read_text().strip()
    assert len(first) >= secrets.MIN_SECRET_LENGTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first not in (ROOT / "config" / "settings.py").read_text()


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "postgresql+psycopg://db.internal/shop"},
        {"CELERY_BROKER_URL": "amqp://mq.internal//"},
        {"REDIS_URL": "redis://cache.internal:6379/0"},
        {"APP_ENV": "production"},
    ],
)
def test_real_services_without_a_secret_refuse_to_start_in_one_line(tmp_path, env):
    clean = {k: v for k, v in os.environ.items() if k not in secrets.SERVICE_URL_SETTINGS}
    clean.pop("SECRET_KEY", None)
    clean.pop("SECRET_KEY_FILE", None)
    clean.update(env, BOOKSTORE_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY is not set" in lines[0], result.stderr
    assert not (tmp_path / secrets.SECRET_FILE_NAME).exists()


def test_make_run_hands_its_children_the_generated_secret_as_a_file(tmp_path, monkeypatch):
    # given the launcher's generated secret, and the embedded URLs it exports to children
    secret = secrets.local_secret(tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / secrets.SECRET_FILE_NAME))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@/postgres?host=/x")
    # then a child's settings use it
    assert settings.load()["SECRET_KEY"] == secret


def test_a_token_signed_with_the_raw_secret_or_for_another_purpose_is_refused(client, app):
    user = make_user(role=Role.ADMIN)
    raw_secret = issue_access_token(user.id, Role.ADMIN, app.config["SECRET_KEY"], 60)
    upload_key = issue_access_token(user.id, Role.ADMIN, app.config["COVER_UPLOAD_KEYS"][0], 60)
    good = issue_access_token(user.id, Role.ADMIN, app.config["JWT_SECRET_KEY"], 60)
    for token, status in ((raw_secret, 401), (upload_key, 401), (good, 200)):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status


def test_tokens_signed_with_the_previous_secret_are_still_accepted(app, session):
    old = create_app({"TESTING": True, "SECRET_KEY": "old-secret-" + "x" * 32})
    rotated = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "new-secret-" + "y" * 32,
            "SECRET_KEY_PREVIOUS": "old-secret-" + "x" * 32,
        }
    )
    bind_services(app)
    user = make_user()
    old_token = auth_headers(old, user)
    assert rotated.test_client().get("/api/v1/me", headers=old_token).status_code == 200
    assert app.test_client().get("/api/v1/me", headers=old_token).status_code == 401


def test_cursors_are_signed_with_a_derived_key_that_rotates(app, client):
    order = SortOrder((SortKey(Book.id, parse=uuid_key),))
    row_id = uuid.uuid4()
    # a cursor signed with the raw secret is refused, by the codec and by the API
    forged = URLSafeSerializer(app.config["SECRET_KEY"], salt="cursor.orders").dumps([str(row_id)])
    with pytest.raises(InvalidCursor):
        CursorCodec("orders").decode(order, forged)
    headers = auth_headers(app, make_user())
    answer = client.get(f"/api/v1/orders?cursor={forged}", headers=headers)
    assert answer.status_code == 400 and answer.json["error"] == "invalid_cursor"
    # the codec signs with the cursor key derived from the secret
    issued = CursorCodec("orders").encode(order, [row_id])
    derived = secrets.derive_key(app.config["SECRET_KEY"], secrets.CURSORS)
    assert URLSafeSerializer(derived, salt="cursor.orders").loads(issued) == [str(row_id)]
    # during a rotation a cursor of the previous secret still works; without it, it does not
    old_secret, new_secret = "old-secret-" + "x" * 32, "new-secret-" + "y" * 32
    before = secrets.signing_keys(old_secret, None)["CURSOR_KEYS"]
    during = secrets.signing_keys(new_secret, old_secret)["CURSOR_KEYS"]
    after = secrets.signing_keys(new_secret, None)["CURSOR_KEYS"]
    old_cursor = CursorCodec("orders", before).encode(order, [row_id])
    assert CursorCodec("orders", during).decode(order, old_cursor) == [row_id]
    with pytest.raises(InvalidCursor):
        CursorCodec("orders", after).decode(order, old_cursor)
    new_cursor = CursorCodec("orders", during).encode(order, [row_id])
    assert CursorCodec("orders", after).decode(order, new_cursor) == [row_id]


# -- 2. Cover uploads: no path from the client, real images only, links from config -----------


@pytest.fixture
def covers_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "COVER_DIR", str(tmp_path / "covers"))
    return tmp_path / "covers"


def _upload_token(app, book_id, **claims) -> str:
    body = {
        "typ": "cover_upload",
        "book": str(book_id),
        "ct": "image/png",
        "actor": str(uuid.uuid4()),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode(body, app.config["COVER_UPLOAD_KEYS"][0], algorithm="HS256")


@pytest.mark.parametrize(
    "name", ["../../../pwned.txt", "/tmp/pwned-absolute.txt", "..\\..\\pwned.txt", "x/../../y.png"]
)
def test_the_stored_cover_name_never_comes_from_the_token(client, app, covers_dir, name):
    book = make_book()
    staff = make_user(role=Role.STAFF)
    token = _upload_token(app, book.id, name=name, actor=str(staff.id))

    response = client.put(
        f"/api/v1/books/{book.id}/cover/upload?token={token}",
        data=PNG,
        headers={"Content-Type": "image/png"},
    )

    assert response.status_code == 200
    stored = list(covers_dir.iterdir())
    assert [p.name for p in stored] == [response.json["cover_url"].rsplit("/", 1)[1]]
    assert stored[0].name.startswith(f"{book.id}-") and stored[0].suffix == ".png"
    assert not (covers_dir.parent / "pwned.txt").exists()
    assert not Path("/tmp/pwned-absolute.txt").exists()


def test_an_upload_token_signed_with_the_access_key_is_refused(client, app, covers_dir):
    book = make_book()
    token = jwt.encode(
        {
            "typ": "cover_upload",
            "book": str(book.id),
            "ct": "image/png",
            "actor": str(uuid.uuid4()),
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        },
        app.config["JWT_SECRET_KEY"],
        algorithm="HS256",
    )
    response = client.put(
        f"/api/v1/books/{book.id}/cover/upload?token={token}",
        data=PNG,
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == 400 and response.json["error"] == "invalid_token"


@pytest.mark.parametrize(
    "content_type, data",
    [
        ("image/png", JPEG),
        ("image/jpeg", PNG),
        ("image/webp", PNG),
        ("image/png", b"<?php system($_GET['c']); ?>"),
        ("image/jpeg", b"<svg onload=alert(1)>"),
    ],
    ids=["jpeg-as-png", "png-as-jpeg", "png-as-webp", "php-as-png", "svg-as-jpeg"],
)
def test_an_upload_whose_bytes_are_not_the_declared_image_type_is_422(
    client, app, covers_dir, content_type, data
):
    book = make_book()
    token = _upload_token(app, book.id, ct=content_type, actor=str(make_user(role=Role.STAFF).id))
    response = client.put(
        f"/api/v1/books/{book.id}/cover/upload?token={token}",
        data=data,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 422
    assert not covers_dir.exists() or not any(covers_dir.iterdir())


@pytest.mark.parametrize(
    "content_type, data", [("image/jpeg", JPEG), ("image/webp", WEBP)], ids=["jpeg", "webp"]
)
def test_real_jpeg_and_webp_uploads_are_stored(client, app, covers_dir, content_type, data):
    book = make_book()
    token = _upload_token(app, book.id, ct=content_type, actor=str(make_user(role=Role.STAFF).id))
    response = client.put(
        f"/api/v1/books/{book.id}/cover/upload?token={token}",
        data=data,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200
    assert client.get(response.json["cover_url"]).data == data


def test_the_upload_url_comes_from_public_base_url_not_the_host_header(
    client, app, covers_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://api.shop.example")
    book = make_book()
    response = client.post(
        f"/api/v1/books/{book.id}/cover",
        headers={**auth_headers(app, make_user(role=Role.STAFF)), "Host": "evil.example"},
        json={"content_type": "image/png"},
    )
    assert response.status_code == 201
    assert response.json["upload_url"].startswith(
        f"https://api.shop.example/api/v1/books/{book.id}/"
    )
    assert "evil.example" not in str(response.json)


# -- 3. Bad input is a 4xx with the SPEC §3 body, never a 500 -----------------------------------

BIG = 2**31
NUL = "a\x00b"


@pytest.fixture(scope="module")
def people(app, engine):
    """Committed once for the module (hashing passwords is slow), emptied afterwards; each
    test's own writes still roll back (the ``client`` fixture)."""
    db.session.remove()
    staff, customer = make_user(role=Role.STAFF), make_user()
    book = make_book(title="Target", isbn13="9780306406157")
    other = make_book(title="Other", isbn13="9781861972712")
    make_genre("fiction")
    db.session.commit()
    yield {
        "staff": auth_headers(app, staff),
        "customer": auth_headers(app, customer),
        "book": book.id,
        "other": other.id,
    }
    db.session.remove()
    truncate_all(engine)


def _promotion(**changes) -> dict:
    return {"code": "SAVE10", "kind": "percent", "value": 10, **changes}


def _book(**changes) -> dict:
    return {"title": "New", "price_cents": 100, **changes}


# (who, method, path, json, status, error); {book} and {other} are filled in.
BAD_INPUT = {
    # 1. integers beyond the columns
    "price_min 2^31": (None, "GET", f"/books?price_min={BIG}", None, 422, "validation_error"),
    "price_max 2^63": (None, "GET", f"/books?price_max={2**63}", None, 422, "validation_error"),
    "limit 2^31": (None, "GET", f"/books?limit={BIG}", None, 422, "validation_error"),
    "POST /books price_cents": ("staff", "POST", "/books", _book(price_cents=BIG), 422, None),
    "PATCH /books price_cents": (
        "staff",
        "PATCH",
        "/books/{book}",
        {"price_cents": BIG},
        422,
        "validation_error",
    ),
    "promotion value": ("staff", "POST", "/promotions", _promotion(value=BIG), 422, None),
    "promotion max_redemptions": (
        "staff",
        "POST",
        "/promotions",
        _promotion(max_redemptions=BIG),
        422,
        None,
    ),
    "promotion min_subtotal": (
        "staff",
        "POST",
        "/promotions",
        _promotion(min_subtotal_cents=BIG),
        422,
        None,
    ),
    "promotion per_user_limit": (
        "staff",
        "POST",
        "/promotions",
        _promotion(per_user_limit=BIG),
        422,
        None,
    ),
    "cart quantity 2^31": (
        "customer",
        "POST",
        "/cart/items",
        {"book_id": "{book}", "quantity": BIG},
        422,
        None,
    ),
    # 2. NUL and control characters, in query strings and JSON bodies
    "authors q NUL": (None, "GET", "/authors?q=a%00b", None, 422, "validation_error"),
    "books genre NUL": (None, "GET", "/books?genre=a%00b", None, 422, "validation_error"),
    "books language NUL": (None, "GET", "/books?language=a%00b", None, 422, "validation_error"),
    "books cursor NUL": (None, "GET", "/books?cursor=a%00b", None, 422, "validation_error"),
    "books escape char": (None, "GET", "/books?genre=a%1Bb", None, 422, "validation_error"),
    "login email NUL": (
        None,
        "POST",
        "/auth/login",
        {"email": NUL, "password": "x" * 12},
        422,
        None,
    ),
    "register name NUL": (
        None,
        "POST",
        "/auth/register",
        {"email": "n@example.com", "password": "Granite-Meadow-Violin-7", "name": NUL},
        422,
        None,
    ),
    "reset email NUL": (None, "POST", "/auth/password-reset", {"email": NUL}, 422, None),
    "profile name NUL": ("customer", "PATCH", "/me", {"name": NUL}, 422, None),
    "book title NUL": ("staff", "POST", "/books", _book(title=NUL), 422, None),
    "author name NUL": ("staff", "POST", "/books", _book(author_names=[NUL]), 422, None),
    "promo description NUL": (
        "staff",
        "POST",
        "/promotions",
        _promotion(description=NUL),
        422,
        None,
    ),
    "JSON key NUL": ("customer", "PATCH", "/me", {NUL: "x"}, 422, None),
    "lone surrogate": ("customer", "PATCH", "/me", {"name": "a\ud800b"}, 422, None),
    # 3. Idempotency-Key longer than its column, or with odd characters
    "checkout key 300": (
        "customer",
        "POST",
        "/checkout",
        {"shipping_method": "standard", "payment_method": "pm_card_visa", "address_id": "{other}"},
        422,
        "validation_error",
    ),
    # 4. PATCH a book with another book's ISBN and genres
    "isbn taken + genres": (
        "staff",
        "PATCH",
        "/books/{book}",
        {"isbn13": "9781861972712", "genres": ["fiction"]},
        409,
        "isbn_taken",
    ),
    "isbn taken + authors": (
        "staff",
        "PATCH",
        "/books/{book}",
        {"isbn13": "9781861972712", "author_names": ["X"]},
        409,
        "isbn_taken",
    ),
    # 7. strict integers
    "quantity 1.5": (
        "customer",
        "POST",
        "/cart/items",
        {"book_id": "{book}", "quantity": 1.5},
        422,
        None,
    ),
    "quantity true": (
        "customer",
        "POST",
        "/cart/items",
        {"book_id": "{book}", "quantity": True},
        422,
        None,
    ),
    "price 9.99": ("staff", "PATCH", "/books/{book}", {"price_cents": 9.99}, 422, None),
}


def _fill(value, people):
    if isinstance(value, str):
        return value.replace("{book}", str(people["book"])).replace("{other}", str(people["other"]))
    if isinstance(value, dict):
        return {k: _fill(v, people) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_a_4xx_with_the_error_body(client, people, case):
    who, method, path, body, status, error = BAD_INPUT[case]
    headers = dict(people[who]) if who else {}
    if case.startswith("checkout key"):
        headers["Idempotency-Key"] = "k" * 300

    response = client.open(
        "/api/v1" + _fill(path, people), method=method, json=_fill(body, people), headers=headers
    )

    assert response.status_code == status, response.json
    assert response.json["code"] == status and response.json["message"]
    assert response.json["error"] == (error or "validation_error")


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "has space", "tab\there", "é-accent", ""],
    ids=["256", "space", "tab", "utf8", "empty"],
)
@pytest.mark.parametrize("path", ["/checkout", "/orders/{random}/cancel"])
def test_a_bad_idempotency_key_is_422(client, people, key, path):
    headers = {**people["customer"], "Idempotency-Key": key}
    # a well-formed body, so that only the key can be wrong
    body = {"shipping_method": "standard", "payment_method": "pm_card_visa"}
    body["address_id"] = str(uuid.uuid4())
    response = client.post(
        "/api/v1" + path.replace("{random}", str(uuid.uuid4())),
        json=body if path == "/checkout" else None,
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json["errors"]["headers"]["Idempotency-Key"]


@pytest.mark.parametrize(
    "raw, status",
    [
        ("[" * 100_000 + "]" * 100_000, 400),
        ('{"a":' * 5_000 + "1" + "}" * 5_000, 400),
        ('{"quantity": ' + "9" * 5_000 + "}", 400),
        ('{"name": "x", "n": ' + "1" * 400 + "}", 422),
        ('{"name": NaN}', 400),
    ],
    ids=["deep-array", "deep-object", "5000-digits", "400-digits", "nan"],
)
def test_hostile_json_is_refused_before_it_is_parsed_into_trouble(client, people, raw, status):
    response = client.patch(
        "/api/v1/me", data=raw, content_type="application/json", headers=people["customer"]
    )
    assert response.status_code == status, response.json
    assert response.json["code"] == status and response.json["error"]


def test_a_body_over_max_content_length_is_413_with_the_json_error_body(client, people):
    huge = '{"name": "' + "x" * (1024 * 1024 + 1) + '"}'
    response = client.patch(
        "/api/v1/me", data=huge, content_type="application/json", headers=people["customer"]
    )
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large" and response.json["code"] == 413


def test_text_with_newlines_and_tabs_is_still_accepted(client, people):
    response = client.patch(
        f"/api/v1/books/{people['book']}",
        json={"description": "Line one\nLine two\tindented\r\n"},
        headers=people["staff"],
    )
    assert response.status_code == 200


# -- 4. Proxies, request ids, headers, operator surfaces ------------------------------------


@pytest.fixture
def limited_app(session):
    def build(**config):
        return create_app(
            {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "RATE_LIMIT_LOGIN": "2 per minute"}
            | config
        )

    return build


def _login_burst(client, forwarded_for: str, times: int) -> list[int]:
    body = {"email": "nobody@example.com", "password": "whatever-it-is"}
    headers = {"X-Forwarded-For": forwarded_for}
    return [
        client.post(
            "/api/v1/auth/login",
            json=body,
            headers=headers,
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ).status_code
        for _ in range(times)
    ]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(limited_app):
    client = limited_app(TRUSTED_PROXIES=1).test_client()
    assert _login_burst(client, "198.51.100.1", 3)[-1] == 429
    # Another client behind the same load balancer is not locked out.
    assert _login_burst(client, "198.51.100.2", 1) == [401]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(limited_app):
    client = limited_app(TRUSTED_PROXIES=0).test_client()
    assert _login_burst(client, "198.51.100.1", 3)[-1] == 429
    # Forging the header does not buy a fresh budget.
    assert _login_burst(client, "198.51.100.9", 1) == [429]


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("abc-123.DEF_9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("x] INFO admin logged in [y", False),
        ("spaces are not ok", False),
        ("naïve", False),
        ("", False),
    ],
    ids=["plain", "64", "65", "forged-log", "spaces", "non-ascii", "empty"],
)
def test_a_request_id_is_echoed_only_when_it_is_plain(client, sent, kept):
    response = client.get("/healthz", headers={"X-Request-ID": sent} if sent else {})
    echoed = response.headers["X-Request-ID"]
    assert (echoed == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", echoed)


def test_retry_after_is_only_sent_with_429_and_503(limited_app):
    client = limited_app().test_client()
    body = {"email": "nobody@example.com", "password": "whatever-it-is"}
    statuses = {}
    for _ in range(3):
        response = client.post("/api/v1/auth/login", json=body)
        statuses[response.status_code] = "Retry-After" in response.headers
    assert statuses == {401: False, 429: True}


@pytest.mark.parametrize(
    "path, personal",
    [
        ("/api/v1/me", True),
        ("/api/v1/me/addresses", True),
        ("/api/v1/orders", True),
        ("/api/v1/cart", True),
        ("/api/v1/auth/login", True),
        ("/api/v1/books", False),
        ("/healthz", False),
        ("/api/v1/nowhere", False),
    ],
)
def test_security_headers_are_on_every_answer(client, path, personal):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert ("no-store" in response.headers.get("Cache-Control", "")) is personal
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_in_production(limited_app):
    response = limited_app(APP_ENV="production").test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_docs_page_gets_a_strict_content_security_policy(client):
    policy = client.get("/docs").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_metrics_need_the_token_when_one_is_set(limited_app):
    client = limited_app(METRICS_TOKEN="m" * 32).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    granted = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert granted.status_code == 200 and b"bookstore_http_requests_total" in granted.data


def test_flower_gets_basic_auth_when_configured_and_says_so_when_not(monkeypatch, capsys):
    import run

    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:s3cret-words")
    config = settings.load()
    assert "--basic-auth=ops:s3cret-words" in run.processes(config)["flower"]
    assert "FLOWER_UNAUTHENTICATED_API" not in run._child_environment()

    monkeypatch.delenv("FLOWER_BASIC_AUTH")
    assert not any(a.startswith("--basic-auth") for a in run.processes(config)["flower"])
    assert "Flower is open" in capsys.readouterr().out


# -- 5. Per-account login throttling, per-recipient mail limit ------------------------------


@pytest.fixture
def throttled(limited_app):
    return limited_app(
        RATE_LIMIT_LOGIN="1000 per minute",
        RATE_LIMIT_PASSWORD_RESET="1000 per minute",
        LOGIN_FAILURE_LIMIT=3,
        ACCOUNT_MAIL_LIMIT=2,
    ).test_client()


def _login(client, email, password, address):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_logins_lock_the_account_whatever_the_address(throttled):
    victim, bystander = make_user(), make_user()
    password = "correct horse battery staple"  # tests.factories
    statuses = [
        _login(throttled, victim.email, "wrong-password-here", f"203.0.113.{i}").status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]

    locked = _login(throttled, victim.email.upper(), password, "192.0.2.77")
    assert locked.status_code == 429 and locked.json["error"] == "rate_limited"
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert _login(throttled, bystander.email, password, "203.0.113.1").status_code == 200


def test_a_successful_login_resets_the_failure_count(throttled):
    user = make_user()
    password = "correct horse battery staple"
    for address in ("203.0.113.1", "203.0.113.2"):
        assert _login(throttled, user.email, "wrong-password-here", address).status_code == 401
    assert _login(throttled, user.email, password, "203.0.113.3").status_code == 200
    for address in ("203.0.113.4", "203.0.113.5"):
        assert _login(throttled, user.email, "wrong-password-here", address).status_code == 401
    assert _login(throttled, user.email, password, "203.0.113.6").status_code == 200


def test_password_reset_mails_to_one_recipient_are_limited(throttled, session):
    user = make_user()
    for i in range(4):
        response = throttled.post(
            "/api/v1/auth/password-reset",
            json={"email": user.email},
            environ_base={"REMOTE_ADDR": f"203.0.113.{i}"},
        )
        assert response.status_code == 202  # the answer never tells
    sent = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.to_email == user.email, Notification.template == "password_reset")
    )
    assert sent == 2
