"""The server secret: from SECRET_KEY (or SECRET_KEY_FILE), or generated once for the embedded
default; and the per-purpose signing keys derived from it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

# Any of these set means the app talks to real services: a secret must then be configured.
SERVICE_URL_SETTINGS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CELERY_RESULT_BACKEND",
    "ELASTICSEARCH_URL",
)
SECRET_FILE_NAME = "secret_key"
PII_KEYS_FILE_NAME = "pii_keys"
# Purposes of the keys derived from the secret; a token signed for one is never valid as another.
ACCESS_TOKENS = "access-token"
COVER_UPLOADS = "cover-upload"
CURSORS = "cursor"
ORDER_LINKS = "order-link"
SMS_CODES = "sms-code"
MIN_SECRET_LENGTH = 32


class MissingSecret(RuntimeError):
    """Real services are configured but no SECRET_KEY is: refuse to start."""


def resolve_secret(environ: Mapping[str, str], var_dir: Path) -> str:
    """SECRET_KEY, else the contents of SECRET_KEY_FILE, else (embedded default only) a random
    secret generated once under ``var_dir`` with mode 0600."""
    if environ.get("SECRET_KEY"):
        return environ["SECRET_KEY"]
    if environ.get("SECRET_KEY_FILE"):
        return Path(environ["SECRET_KEY_FILE"]).read_text().strip()
    reason = _real_services(environ)
    if reason:
        raise MissingSecret(
            f"SECRET_KEY is not set but {reason} is: set SECRET_KEY to a random string of at "
            f"least {MIN_SECRET_LENGTH} characters (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)."
        )
    return local_secret(var_dir)


def _real_services(environ: Mapping[str, str]) -> str | None:
    """Why a secret must be configured (the service settings set, or production), or None."""
    configured = [name for name in SERVICE_URL_SETTINGS if environ.get(name)]
    if configured or environ.get("APP_ENV", "").lower() == "production":
        return ", ".join(configured) or "APP_ENV=production"
    return None


def resolve_pii_keys(environ: Mapping[str, str], var_dir: Path) -> str:
    """PII_KEYS, else the contents of PII_KEYS_FILE, else (embedded default only) one AES-256
    key generated once under ``var_dir`` with mode 0600; same rule as the secret."""
    if environ.get("PII_KEYS"):
        return environ["PII_KEYS"]
    if environ.get("PII_KEYS_FILE"):
        return Path(environ["PII_KEYS_FILE"]).read_text().strip()
    reason = _real_services(environ)
    if reason:
        raise MissingSecret(
            f"PII_KEYS is not set but {reason} is: set PII_KEYS to <key id>:<base64 32-byte "
            'key>, newest first (e.g. `python -c \'import base64,os; print("k1:" + '
            "base64.urlsafe_b64encode(os.urandom(32)).decode())'`)."
        )
    return _local_file(Path(var_dir) / PII_KEYS_FILE_NAME, _new_pii_key)


def _new_pii_key() -> str:
    return "local1:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def local_secret(var_dir: Path) -> str:
    """The embedded default's secret: made on first use, readable by this user only."""
    return _local_file(Path(var_dir) / SECRET_FILE_NAME, lambda: secrets.token_urlsafe(48))


def _local_file(path: Path, make) -> str:
    """The contents of ``path``, written first (mode 0600, never overwritten) if missing."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def derive_key(secret: str, purpose: str) -> str:
    """HMAC-SHA256(secret, purpose), hex: one independent key per purpose."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def signing_keys(secret: str, previous: str | None) -> dict:
    """Config entries for every purpose: ``<PURPOSE>_KEYS`` newest first (the previous secret's
    key is accepted for verification only), and JWT_SECRET_KEY, the access-token signing key."""

    def keys(purpose: str) -> list[str]:
        return [derive_key(s, purpose) for s in (secret, previous) if s]

    access = keys(ACCESS_TOKENS)
    return {
        "JWT_SECRET_KEY": access[0],
        "ACCESS_TOKEN_KEYS": access,
        "COVER_UPLOAD_KEYS": keys(COVER_UPLOADS),
        "CURSOR_KEYS": keys(CURSORS),
        "ORDER_LINK_KEYS": keys(ORDER_LINKS),
        # Phone verification codes live minutes: no previous key is kept for them.
        "SMS_CODE_KEY": keys(SMS_CODES)[0],
    }


VAPID_FILE_NAME = "webpush_vapid_private.pem"


def local_vapid_key(var_dir: Path) -> Path:
    """The embedded default's Web Push (VAPID) key pair: a P-256 private key made on first use
    under ``var_dir`` (PEM, readable by this user only). Configured deployments set
    WEBPUSH_VAPID_PRIVATE_KEY instead; there is no shared default key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(var_dir) / VAPID_FILE_NAME
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path
