"""Hostile input (issue 8): each defect found by the fuzzer and by hand, as a table of attacks
and the answer each must get. Every test here was red before its fix."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import yaml

from app import create_app
from config import secrets, settings
from models import Role
from services.accounts.tokens import issue_access_token
from tests.factories import auth_headers, make_book, make_user

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


# -- 1. No public default secret ------------------------------------------------------------


def test_docker_compose_ships_no_usable_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        value = (service.get("environment") or {}).get("SECRET_KEY")
        assert value is None or value.startswith("${SECRET_KEY:?"), (name, value)


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
    user = make_user()
    old_token = auth_headers(old, user)
    assert rotated.test_client().get("/api/v1/me", headers=old_token).status_code == 200
    assert app.test_client().get("/api/v1/me", headers=old_token).status_code == 401


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
