"""Privacy work (default queue): erasing an account's personal data after DELETE /me."""

from __future__ import annotations

import uuid

from celery import shared_task

from services.privacy import erasure
from tasks.orders import STEP_RETRY

ERASE_ACCOUNT = "tasks.privacy.erase_account"


@shared_task(name=ERASE_ACCOUNT, **STEP_RETRY)
def erase_account(user_id: str) -> bool:
    """Remove or anonymise the account's personal data (idempotent: an erased account is left)."""
    return erasure.erase(uuid.UUID(user_id))
