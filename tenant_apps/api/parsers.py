"""Request bodies the API reads: JSON only, with a bound on nesting (a body of a thousand `[` is a 400 like any other
malformed JSON, never a RecursionError)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from shared_apps.core.jsonsafe import MAX_DEPTH, JsonTooDeep, json_depth_check


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return json_depth_check(super().parse(stream, media_type, parser_context))
        except (RecursionError, JsonTooDeep) as exc:
            raise ParseError(
                _("JSON parse error - nested deeper than %(MAX_DEPTH)s levels.") % {"MAX_DEPTH": MAX_DEPTH}
            ) from exc
