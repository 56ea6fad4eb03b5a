"""Reading what a client declares about its request, without trusting it to be well formed."""

from __future__ import annotations

import re

from django.http import HttpRequest

_SIZE = re.compile(r"[0-9]{1,18}")  # ASCII digits only: int() also reads "١٢", " 12", "1_2"


class LengthInvalid(ValueError):
    """A Content-Length header that is not a size."""


def declared_length(request: HttpRequest) -> int | None:
    """The request's Content-Length as a number of bytes, None when it has none; LengthInvalid when it is anything
    but ASCII digits (negative, a float, words, absurdly long)."""
    raw = request.META.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _SIZE.fullmatch(raw):
        raise LengthInvalid("The Content-Length header is not a size.")
    return int(raw)
