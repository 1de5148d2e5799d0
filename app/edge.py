"""The edge guard: what every request must pass before any view or schema sees it.

One place refuses, for every endpoint (so no schema can forget): control characters and lone
surrogates in query strings, path segments and JSON strings (keys too), JSON that is not JSON
(NaN, 5,000-digit numbers, nesting deeper than MAX_JSON_DEPTH), integers beyond 64 bits, and
an ``Idempotency-Key`` that is too long or not plain ASCII. Bodies over MAX_CONTENT_LENGTH are
refused by Flask (413) before they are read."""

from __future__ import annotations

import json
import re

from flask import Flask, request
from flask_smorest import abort

from app.api.fields import CONTROL_CHARACTERS_MESSAGE, has_control_characters

MAX_JSON_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, fits its column


def register_edge_guard(app: Flask) -> None:
    app.before_request(guard_request)


def guard_request() -> None:
    problems: dict[str, dict[str, list[str]]] = {}
    for location, values in (("query", request.args), ("path", request.view_args or {})):
        for name, value in _pairs(values):
            if has_control_characters(name) or (
                isinstance(value, str) and has_control_characters(value)
            ):
                problems.setdefault(location, {})[_printable(name)] = [CONTROL_CHARACTERS_MESSAGE]
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        problems["headers"] = {
            "Idempotency-Key": ["1 to 255 visible ASCII characters (no spaces)."]
        }
    if request.is_json and request.method not in ("GET", "HEAD", "OPTIONS"):
        body_problems = _json_problems(request.get_data(cache=True))
        if body_problems:
            problems["json"] = body_problems
    if problems:
        abort(422, message="The request has characters or values it may not have.", errors=problems)


def _pairs(values):
    if hasattr(values, "items") and hasattr(values, "getlist"):
        return values.items(multi=True)
    return values.items()


def _json_problems(raw: bytes) -> dict[str, list[str]]:
    if not raw:
        return {}
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # Not JSON, NaN/Infinity, a number too long to convert, or nested past the stack.
        abort(400, message="The body is not valid JSON (or is nested too deeply).")
    problems: dict[str, list[str]] = {}
    stack = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            abort(400, message=f"The JSON body is nested more than {MAX_JSON_DEPTH} deep.")
        if isinstance(value, dict):
            for name, item in value.items():
                where = f"{path}.{_printable(name)}" if path else _printable(name)
                if has_control_characters(name):
                    problems[where] = [CONTROL_CHARACTERS_MESSAGE]
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value)
            )
        elif isinstance(value, str) and has_control_characters(value):
            problems[path or "_body"] = [CONTROL_CHARACTERS_MESSAGE]
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            problems[path or "_body"] = ["Number out of range."]
    return problems


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _printable(name: str) -> str:
    """A field name safe to echo back (control characters shown escaped)."""
    return name.encode("unicode_escape", "backslashreplace").decode("ascii")
