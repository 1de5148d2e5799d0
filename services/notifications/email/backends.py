"""Email backends chosen by ``EMAIL_BACKEND``: file (.eml files), smtp (smtplib), ses (boto3).

Every backend raises TransientEmailError for failures worth retrying (connection refused,
timeouts, throttling) and PermanentEmailError for ones that will not heal (rejected sender or
recipient); the notification service records both."""

from __future__ import annotations

import functools
import os
import smtplib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol


class EmailError(Exception):
    pass


class TransientEmailError(EmailError):
    """Sending failed for a reason that may pass (retry later)."""


class PermanentEmailError(EmailError):
    """Sending failed for good (the message is recorded as failed)."""


class EmailBackend(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return the provider's id for it."""
        ...


class FileBackend:
    """Writes each message as an RFC 822 ``.eml`` file a mail client can open."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{message.get('X-Notification-ID') or uuid.uuid4()}.eml"
        target = self.directory / name
        partial = target.with_suffix(".eml.partial")
        try:
            partial.write_bytes(message.as_bytes())
            partial.replace(target)
        except OSError as exc:
            raise TransientEmailError(f"could not write {target}: {exc}") from exc
        return str(target)


class SmtpBackend:
    def __init__(self, host: str, port: int, user=None, password=None, tls=False, timeout=10):
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.tls, self.timeout = tls, timeout

    def send(self, message: EmailMessage) -> str:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.tls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error_class = (
                TransientEmailError if all(c < 500 for c in codes) else (PermanentEmailError)
            )
            raise error_class(f"SMTP refused the recipients: {exc.recipients}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentEmailError(f"SMTP authentication failed: {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            error_class = TransientEmailError if exc.smtp_code < 500 else PermanentEmailError
            raise error_class(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientEmailError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return str(message["Message-ID"])


# SES error codes that mean "try again later"; every other client error is permanent.
SES_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
        "LimitExceededException",
    }
)


class SesBackend:
    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        import boto3

        self.client = boto3.client("ses", region_name=region, endpoint_url=endpoint_url)

    def send(self, message: EmailMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        recipients = [addr for _, addr in getaddresses(message.get_all("To", []))]
        sender = getaddresses([message["From"]])[0][1]
        try:
            answer = self.client.send_raw_email(
                Source=sender, Destinations=recipients, RawMessage={"Data": message.as_bytes()}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            error_class = (
                TransientEmailError if code in SES_TRANSIENT_CODES else (PermanentEmailError)
            )
            raise error_class(f"SES {code}: {exc}") from exc
        except BotoCoreError as exc:  # connection errors, timeouts
            raise TransientEmailError(f"SES unreachable: {exc}") from exc
        return answer["MessageId"]


def build_backend(config: Mapping) -> EmailBackend:
    kind = (config.get("EMAIL_BACKEND") or "file").lower()
    if kind == "file":
        return FileBackend(config["EMAIL_FILE_DIR"])
    if kind == "smtp":
        return SmtpBackend(
            config["SMTP_HOST"],
            int(config["SMTP_PORT"]),
            config.get("SMTP_USER"),
            config.get("SMTP_PASSWORD"),
            bool(config.get("SMTP_TLS")),
            int(config.get("SMTP_TIMEOUT_SECONDS", 10)),
        )
    if kind == "ses":
        return _ses_backend(config["AWS_REGION"], config.get("AWS_ENDPOINT_URL"))
    raise ValueError(f"EMAIL_BACKEND must be file, smtp or ses, not {kind!r}")


@functools.lru_cache(maxsize=8)
def _ses_backend(region: str, endpoint_url: str | None) -> SesBackend:
    # A boto3 client is costly to build and safe to share between threads: one per process.
    return SesBackend(region, endpoint_url)
