"""WSGI entry point: ``gunicorn wsgi:app``."""

import sys

from app import create_app
from config.secrets import MissingSecret
from models.encryption import PiiKeyError
from services.search.engine import UnknownSearchBackend

try:
    app = create_app()
except (
    MissingSecret,
    PiiKeyError,
    UnknownSearchBackend,
) as exc:  # one line, no traceback: the operator knows what to set
    sys.exit(str(exc))
