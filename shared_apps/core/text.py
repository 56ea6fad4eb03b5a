"""Checks on text people type that ends up in email headers, CSV cells, log lines and other people's screens."""

from __future__ import annotations

import re

# C0 controls (NUL, CR, LF, TAB, ESC…), DEL, C1 controls, and the Unicode line and paragraph separators: in a name
# any of them breaks or forges the structure of a header, a CSV row or a log line. And Unicode's format characters
# (category Cf), which change what is shown without being seen: bidi embeddings, overrides, isolates and marks
# ("invoice\u202egnp.exe.png" shows as "invoicegnp.exe.png" reversed after "invoice"), zero-width space, word joiner,
# invisible operators, the byte-order mark, soft hyphen, interlinear annotations, tag characters.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
# The zero-width joiner and non-joiner are format characters too, and text needs them between two characters of a
# script or an emoji sequence that uses them (Persian, the Indic scripts, 👨‍👩‍👧); next to ASCII, at an edge, or
# doubled they only hide something ("Ac\u200dme").
_JOINER_OUT_OF_PLACE = re.compile("(?:^|(?<=[\x00-\x7f\u200c\u200d]))[\u200c\u200d]|[\u200c\u200d](?=[\x00-\x7f]|$)")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None or _JOINER_OUT_OF_PLACE.search(value) is not None


# Free text (a description, a comment): line breaks and tabs are text, and so are the bidi marks and isolates that
# right-to-left writing uses; the other controls and the bidi embeddings and overrides are not.
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


def has_control_characters_in_text(value: str) -> bool:
    return _TEXT_CONTROL.search(value) is not None


def without_nul(value: str) -> str:
    """`value` with NUL characters removed (PostgreSQL text cannot hold them), for free-text search input."""
    return value.replace("\x00", "")
