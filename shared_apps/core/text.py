"""Checks on text people type that ends up in email headers, CSV cells and log lines."""

from __future__ import annotations

import re

# C0 controls (NUL, CR, LF, TAB, ESC…), DEL, C1 controls, and the Unicode line and paragraph separators: in a name
# any of them breaks or forges the structure of a header, a CSV row or a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def without_nul(value: str) -> str:
    """`value` with NUL characters removed (PostgreSQL text cannot hold them), for free-text search input."""
    return value.replace("\x00", "")
