"""Cover uploads: local storage through this API, and presigned PUTs to moto's S3."""

from __future__ import annotations

import boto3
import pytest
import requests

from app import create_app
from models import Book, Role, db
from tests.factories import auth_headers, make_book, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"cover-bytes" * 50


@pytest.fixture
def local_covers(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "COVER_DIR", str(tmp_path / "covers"))
    return tmp_path / "covers"


def test_local_upload_stores_the_image_and_the_api_serves_it(client, app, local_covers):
    book = make_book()
    headers = auth_headers(app, make_user(role=Role.STAFF))

    started = client.post(
        f"/api/v1/books/{book.id}/cover", headers=headers, json={"content_type": "image/png"}
    )
    assert started.status_code == 201
    upload = started.json
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "image/png"}

    put = client.put(upload["upload_url"], data=PNG, headers=upload["headers"])
    assert put.status_code == 200
    assert upload["cover_url"] is None  # named after its content: known once uploaded
    assert put.json["cover_url"].startswith(f"/api/v1/covers/{book.id}-")
    served = client.get(put.json["cover_url"])
    assert served.status_code == 200
    assert served.data == PNG and served.mimetype == "image/png"
    assert len(list(local_covers.iterdir())) == 1


def test_local_upload_refuses_a_forged_token_and_a_wrong_type(client, app, local_covers):
    book = make_book()
    headers = auth_headers(app, make_user(role=Role.STAFF))
    upload = client.post(
        f"/api/v1/books/{book.id}/cover", headers=headers, json={"content_type": "image/png"}
    ).json
    forged = client.put(
        f"/api/v1/books/{book.id}/cover/upload?token=forged", data=PNG, headers=upload["headers"]
    )
    assert forged.status_code == 400 and forged.json["error"] == "invalid_token"
    wrong_type = client.put(upload["upload_url"], data=PNG, headers={"Content-Type": "image/jpeg"})
    assert wrong_type.status_code == 422
    other_book = make_book(title="Other")
    elsewhere = client.put(
        upload["upload_url"].replace(str(book.id), str(other_book.id)),
        data=PNG,
        headers=upload["headers"],
    )
    assert elsewhere.status_code == 400
    assert client.get("/api/v1/covers/..%2f..%2fetc%2fpasswd").status_code == 404
    assert not local_covers.exists() or not any(local_covers.iterdir())


def test_an_oversized_upload_is_413(client, app, local_covers, monkeypatch):
    monkeypatch.setitem(app.config, "COVER_MAX_BYTES", 100)
    book = make_book()
    headers = auth_headers(app, make_user(role=Role.STAFF))
    upload = client.post(
        f"/api/v1/books/{book.id}/cover", headers=headers, json={"content_type": "image/png"}
    ).json
    response = client.put(upload["upload_url"], data=PNG, headers=upload["headers"])
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"


def test_unsupported_image_types_are_422(client, app):
    book = make_book()
    response = client.post(
        f"/api/v1/books/{book.id}/cover",
        headers=auth_headers(app, make_user(role=Role.STAFF)),
        json={"content_type": "application/x-msdownload"},
    )
    assert response.status_code == 422
    assert "image/png" in response.json["message"]


def test_s3_presigned_put_lands_in_the_bucket(session, aws):
    s3_app = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "COVER_STORAGE": "s3",
            "S3_BUCKET": "covers-test",
            "AWS_ENDPOINT_URL": aws,
            "AWS_REGION": "us-east-1",
        }
    )
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws)
    s3.create_bucket(Bucket="covers-test")
    book = make_book()
    headers = auth_headers(s3_app, make_user(role=Role.STAFF))

    started = s3_app.test_client().post(
        f"/api/v1/books/{book.id}/cover", headers=headers, json={"content_type": "image/png"}
    )
    assert started.status_code == 201
    upload = started.json
    assert upload["upload_url"].startswith(f"{aws}/covers-test/covers/")
    assert "X-Amz-Signature" in upload["upload_url"]

    put = requests.put(upload["upload_url"], data=PNG, headers=upload["headers"], timeout=10)
    assert put.status_code == 200

    key = upload["cover_url"].removeprefix(f"{aws}/covers-test/")
    stored = s3.get_object(Bucket="covers-test", Key=key)
    assert stored["Body"].read() == PNG
    assert stored["ContentType"] == "image/png"
    db.session.expire_all()
    assert db.session.get(Book, book.id).cover_url == upload["cover_url"]
