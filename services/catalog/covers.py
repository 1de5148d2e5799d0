"""Book cover uploads. ``COVER_STORAGE=s3``: a presigned S3 PUT URL (boto3). ``local`` (the
embedded default): an upload URL on this API carrying a signed, expiring token; the file is
stored under COVER_DIR and served by the API."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from services.accounts.tokens import verify_hs256
from services.catalog import admin as catalog_admin
from services.errors import DomainError, InvalidInput, NotFound

CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
UPLOAD_TOKEN_TYPE = "cover_upload"
COVER_NAME = re.compile(r"^[0-9a-f-]{36}-[0-9a-f]{32}\.(jpg|png|webp)$")
# What the first bytes of each allowed image type must be (its "magic number").
MAGIC = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}


class InvalidUploadToken(DomainError):
    """The upload link is invalid or has expired; ask for a new one."""

    error = "invalid_token"


class CoverNotFound(NotFound):
    """No such cover image."""


@dataclass(frozen=True)
class CoverUpload:
    upload_url: str
    method: str
    headers: dict
    cover_url: str | None
    expires_in: int


def check_content_type(content_type: str) -> str:
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(
            f"Covers must be one of {', '.join(sorted(CONTENT_TYPES))}.",
            content_type=["Unsupported image type."],
        )
    return CONTENT_TYPES[content_type]


def start_upload(
    actor_id: uuid.UUID, book_id: uuid.UUID, content_type: str, config: Mapping
) -> CoverUpload:
    """Where and how to PUT the image; links are built on PUBLIC_BASE_URL (never on the
    request's Host header)."""
    extension = check_content_type(content_type)
    catalog_admin.get_book(book_id)
    ttl = int(config["COVER_UPLOAD_TTL_SECONDS"])
    headers = {"Content-Type": content_type}
    if config["COVER_STORAGE"] == "s3":
        key = f"covers/{book_id}-{uuid.uuid4().hex}.{extension}"
        url = _s3_client(config).generate_presigned_url(
            "put_object",
            Params={"Bucket": config["S3_BUCKET"], "Key": key, "ContentType": content_type},
            ExpiresIn=ttl,
        )
        cover_url = f"{_s3_public_base(config)}/{key}"
        # The URL is known now; S3 serves the image once the client's PUT lands.
        catalog_admin.set_cover_url(actor_id, book_id, cover_url)
        return CoverUpload(url, "PUT", headers, cover_url, ttl)
    token = jwt.encode(
        {
            "typ": UPLOAD_TOKEN_TYPE,
            "book": str(book_id),
            "ct": content_type,
            "actor": str(actor_id),
            "exp": datetime.now(UTC) + timedelta(seconds=ttl),
        },
        config["COVER_UPLOAD_KEYS"][0],
        algorithm="HS256",
    )
    root = config["PUBLIC_BASE_URL"].rstrip("/")
    upload_url = f"{root}/api/v1/books/{book_id}/cover/upload?token={token}"
    # The image's name comes from its bytes, so its URL is in the PUT's answer, not here.
    return CoverUpload(upload_url, "PUT", headers, None, ttl)


def store_local_upload(
    book_id: uuid.UUID, token: str, content_type: str, data: bytes, config: Mapping
):
    """Save an uploaded image (local storage) and point the book at it. Returns the book."""
    claims = verify_hs256(
        token or "", config["COVER_UPLOAD_KEYS"], InvalidUploadToken, ["exp", "ct", "actor"]
    )
    if claims.get("typ") != UPLOAD_TOKEN_TYPE or claims.get("book") != str(book_id):
        raise InvalidUploadToken()
    declared = claims["ct"]
    if declared not in CONTENT_TYPES:
        raise InvalidUploadToken()
    if content_type != declared:
        raise InvalidInput(f"Send the image with 'Content-Type: {declared}'.")
    if not data:
        raise InvalidInput("The upload is empty.")
    if len(data) > int(config["COVER_MAX_BYTES"]):
        raise InvalidInput(f"Covers may be at most {config['COVER_MAX_BYTES']} bytes.")
    if not MAGIC[declared](data):
        raise InvalidInput(f"The upload is not a {declared} image.")
    try:
        actor = uuid.UUID(str(claims["actor"]))
    except ValueError as exc:
        raise InvalidUploadToken() from exc
    # The name is made here, never taken from the client: book, content hash, known extension.
    name = f"{book_id}-{hashlib.sha256(data).hexdigest()[:32]}.{CONTENT_TYPES[declared]}"
    directory = Path(config["COVER_DIR"]).resolve()
    target = (directory / name).resolve()
    if target.parent != directory or not COVER_NAME.match(target.name):
        raise InvalidInput("The cover could not be stored.")
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return catalog_admin.set_cover_url(actor, book_id, f"/api/v1/covers/{name}")


def local_cover(name: str, config: Mapping) -> tuple[Path, str]:
    """The stored file and its content type (names are checked: no path tricks)."""
    path = Path(config["COVER_DIR"]) / name
    if not COVER_NAME.match(name) or not path.is_file():
        raise CoverNotFound()
    extension = name.rsplit(".", 1)[1]
    content_type = next(ct for ct, ext in CONTENT_TYPES.items() if ext == extension)
    return path, content_type


def _s3_client(config: Mapping):
    import boto3
    from botocore.config import Config

    style = "path" if config.get("AWS_ENDPOINT_URL") else "auto"
    return boto3.client(
        "s3",
        region_name=config["AWS_REGION"],
        endpoint_url=config.get("AWS_ENDPOINT_URL"),
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def _s3_public_base(config: Mapping) -> str:
    if config.get("COVER_PUBLIC_BASE_URL"):
        return config["COVER_PUBLIC_BASE_URL"].rstrip("/")
    bucket = config["S3_BUCKET"]
    if config.get("AWS_ENDPOINT_URL"):
        return f"{config['AWS_ENDPOINT_URL'].rstrip('/')}/{bucket}"
    return f"https://{bucket}.s3.{config['AWS_REGION']}.amazonaws.com"
