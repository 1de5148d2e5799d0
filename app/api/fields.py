"""Field types shared by every schema: integers that fit their columns and are strictly whole,
and text without control characters. (The edge guard, app/edge.py, applies the same text rule
to every string of every request, so a schema that forgets these types is still safe.)"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# C0 controls except tab, newline and carriage return; DEL; lone UTF-16 surrogates (which
# PostgreSQL cannot store). NUL is the one PostgreSQL refuses outright.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CONTROL_CHARACTERS_MESSAGE = "Control characters (such as NUL) are not allowed."
# Digits a whole number may be sent with in a query string (int32 needs at most 10).
_INTEGER_TEXT = re.compile(r"^[+-]?\d{1,18}$")


def has_control_characters(value: str) -> bool:
    return CONTROL_CHARACTERS.search(value) is not None


def refuse_control_characters(value: str) -> None:
    """A marshmallow validator."""
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


class Int(fields.Integer):
    """A whole number within ``minimum``..``maximum`` (default: a PostgreSQL ``integer``).

    Strict: ``1.5``, ``1.0``, ``true`` and ``"1.5"`` are refused, never truncated. Digit
    strings are accepted (query strings carry nothing else)."""

    def __init__(
        self,
        *,
        minimum: int = INT32_MIN,
        maximum: int = INT32_MAX,
        range_error: str | None = None,
        **kwargs,
    ):
        extra = kwargs.pop("validate", None)
        validators = [validate.Range(min=minimum, max=maximum, error=range_error)]
        if extra is not None:
            validators += list(extra) if isinstance(extra, list | tuple) else [extra]
        super().__init__(validate=validators, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool | float):
            raise self.make_error("invalid", input=value)
        if isinstance(value, str) and not _INTEGER_TEXT.match(value.strip()):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Text(fields.String):
    """A string without control characters (tab, newline and carriage return are allowed)."""

    def __init__(self, **kwargs):
        extra = kwargs.pop("validate", None)
        validators = [refuse_control_characters]
        if extra is not None:
            validators += list(extra) if isinstance(extra, list | tuple) else [extra]
        super().__init__(validate=validators, **kwargs)
