"""The base Schema and Blueprint of every resource: unknown fields and parameters are refused.

Marshmallow schemas already raise on unknown keys, but webargs quietly drops unknown query
parameters and headers by default; ``StrictParser`` makes every location follow the schema's
``Meta.unknown`` (``RAISE``), so ``GET /books?gnere=fantasy`` is a 422 naming ``gnere``.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint as _SmorestBlueprint
from webargs.flaskparser import FlaskParser


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class StrictParser(FlaskParser):
    # None: let the schema decide (our schemas raise) rather than excluding silently.
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, None)


class Blueprint(_SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()
